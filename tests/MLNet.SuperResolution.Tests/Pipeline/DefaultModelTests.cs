using Microsoft.ML;
using MLNet.SuperResolution.Tests.Cli;
using SixLabors.ImageSharp;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// The weights embedded in the library (<see cref="SrDefaultModel"/>): present for x2, x3 and x4, small, used with no
/// model given, and better than the public FSRCNN weights on Set5 and Set14 with the protocol (docs/default-weights.md).
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class DefaultModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    [Fact]
    public void DefaultWeightsAreEmbeddedForX2X3X4_EachUnder8MB()
    {
        Assert.Equal(new[] { 2, 3, 4 }, SrDefaultModel.Scales);
        var assembly = typeof(SrDefaultModel).Assembly;
        foreach (int scale in SrDefaultModel.Scales)
        {
            using var stream = assembly.GetManifestResourceStream($"MLNet.SuperResolution.DefaultModels.edsr-default-x{scale}.safetensors");
            Assert.NotNull(stream);
            Assert.InRange(stream!.Length, 100_000, 8 * 1024 * 1024);
        }
    }

    [Fact]
    public void FromDefaultModel_UpscalesAndRefusesAScaleWithoutWeights()
    {
        using (var upscaler = SuperResolutionUpscaler.FromDefaultModel(3))
        {
            string output = Path.Combine(_images.Directory, "x3.png");
            upscaler.UpscaleFile(_images.Crop("coffee.png", 20, 16), output);
            Assert.Equal((60, 48), (Image.Identify(output).Width, Image.Identify(output).Height));
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SuperResolutionUpscaler.FromDefaultModel(5));
        Assert.Contains("No default weights for x5; they exist for x2, x3, x4", error.Message);
    }

    [Fact]
    public void SrUpscaleWithoutAModel_UsesTheDefaultForTheScale()
    {
        string input = _images.Crop("coffee.png", 20, 16);
        string result = Path.Combine(_images.Directory, "out-x4.png");
        var (code, stdout, stderr) = SrTool.Run(output, "upscale", input, "-o", result, "--scale", "4");
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal((80, 64), (Image.Identify(result).Width, Image.Identify(result).Height));
    }

    [Fact]
    public void APipelineWithTheDefaultModel_SavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, [_images.Crop("coffee.png", 24, 20), _images.Crop("astronaut.png", 16, 16)]);
        var model = ml.Transforms.LoadImages("LowRes", null, "Path")
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2))
            .Fit(data);
        string path = Path.Combine(_images.Directory, "default.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext(seed: 2).Model.Load(path, out _);
        var expected = TestImages.ReadImages(model.Transform(data), "SuperRes");
        var actual = TestImages.ReadImages(loaded.Transform(data), "SuperRes");
        Assert.Equal(2, actual.Count);
        Assert.Equal((48, 40), (actual[0].Width, actual[0].Height));
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Planes, actual[i].Planes);
    }

    /// <summary>
    /// Set5 and Set14 with the MATLAB-made LR files: above the public FSRCNN weights imported in the spine issue, as
    /// measured through the same pipeline (README, "The protocol"), at every scale.
    /// </summary>
    [SkippableTheory]
    [InlineData("Set5", 2, 37.137)]
    [InlineData("Set5", 3, 32.604)]
    [InlineData("Set5", 4, 30.524)]
    [InlineData("Set14", 2, 32.739)]
    [InlineData("Set14", 3, 29.232)]
    [InlineData("Set14", 4, 27.571)]
    public void DefaultWeightsBeatThePublicFsrcnnWeights(string set, int scale, double fsrcnnPsnr)
    {
        var ml = new MLContext(seed: 1);
        var data = BenchmarkSets.Load(ml, set, scale);
        var model = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale).Fit(data);
        var metrics = ml.SuperResolution().Evaluate(model.Transform(data), scale, "HighRes", "SuperRes");
        output.WriteLine($"{set} x{scale}: {metrics.Psnr:F3} dB / {metrics.Ssim:F4} (FSRCNN public weights {fsrcnnPsnr})");
        Assert.True(metrics.Psnr > fsrcnnPsnr, $"{set} x{scale}: {metrics.Psnr:F3} dB is not above FSRCNN's {fsrcnnPsnr}");
    }
}
