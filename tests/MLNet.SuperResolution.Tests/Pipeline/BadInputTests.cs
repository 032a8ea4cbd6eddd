using Microsoft.ML;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>Bad input gets a clear error naming the column, the file or the mismatch.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private static SuperResolutionOptions Options(int scale = 2) => new()
    {
        Architecture = SrArchitecture.Espcn,
        Scale = scale,
        Epochs = 1,
        PatchesPerImage = 1,
        BatchSize = 1,
        PatchSize = 8 * scale,
    };

    private IDataView Loaded(MLContext ml, int scale, params string[] paths)
        => ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
            .Fit(TestImages.Paths(ml, paths)).Transform(TestImages.Paths(ml, paths));

    [Fact]
    public void MissingColumnIsNamed()
    {
        var ml = new MLContext(seed: 1);
        var data = Loaded(ml, 2, _images.Crop("coffee.png", 32, 32));
        var options = Options();
        options.LabelColumnName = "GroundTruth";
        var error = Assert.ThrowsAny<Exception>(() => ml.Transforms.SuperResolution(options).Fit(data));
        Assert.Contains("GroundTruth", error.Message);
    }

    [Fact]
    public void NonImageColumnIsNamed()
    {
        var ml = new MLContext(seed: 1);
        var data = Loaded(ml, 2, _images.Crop("coffee.png", 32, 32));
        var options = Options();
        options.InputColumnName = "Path";
        var error = Assert.ThrowsAny<Exception>(() => ml.Transforms.SuperResolution(options).Fit(data));
        Assert.Contains("Path", error.Message);
        Assert.Contains("image", error.Message);

        var apply = Assert.ThrowsAny<Exception>(() => ml.Transforms.ApplySuperResolutionModel("Out", "Path", SrArchitecture.Bicubic, 2).Fit(data));
        Assert.Contains("Path", apply.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]
    public void UnsupportedScaleIsRejectedWithTheSupportedOnes(int scale)
    {
        var ml = new MLContext(seed: 1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.SuperResolution(Options(scale)));
        Assert.Contains($"Scale {scale}", error.Message);
        Assert.Contains("2, 3, 4", error.Message);
        if (!SrModelZoo.Get(SrArchitecture.Bicubic).Scales.Contains(scale)) // bicubic also does x8, the baseline of LapSRN and DRN
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale));
    }

    [Fact]
    public void LowAndHighResolutionSizesThatDoNotMatchTheScaleAreReported()
    {
        var ml = new MLContext(seed: 1);
        string path = _images.Crop("coffee.png", 48, 48);
        var data = Loaded(ml, 2, path);
        var error = Assert.Throws<InvalidDataException>(() => ml.Transforms.SuperResolution(Options(scale: 3)).Fit(data));
        Assert.Contains("24x24", error.Message);
        Assert.Contains("at scale 3", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void UnreadableImageFileIsNamed()
    {
        var ml = new MLContext(seed: 1);
        string good = _images.Crop("coffee.png", 32, 32);
        string bad = _images.Write("not-an-image.png", "this is text, not a PNG"u8.ToArray());
        var data = Loaded(ml, 2, good, bad);
        var error = Assert.Throws<InvalidDataException>(() => ml.Transforms.SuperResolution(Options()).Fit(data));
        Assert.Contains("not-an-image.png", error.Message);
        Assert.Contains("row 1", error.Message);
    }

    [Fact]
    public void EvaluateReportsMissingAndMismatchedColumns()
    {
        var ml = new MLContext(seed: 1);
        // 34x34 -> 17x17 LR -> 34x34 SR; at scale 4 the label crops to 32x32, which cannot match.
        var data = Loaded(ml, 2, _images.Crop("coffee.png", 34, 34));
        var withBicubic = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2).Fit(data).Transform(data);
        Assert.Contains("Nope", Assert.ThrowsAny<Exception>(() => ml.SuperResolution().Evaluate(withBicubic, 2, "HighRes", "Nope")).Message);
        var wrongScale = Assert.Throws<InvalidDataException>(() => ml.SuperResolution().Evaluate(withBicubic, 4, "HighRes", "SuperRes"));
        Assert.Contains("scale 4", wrongScale.Message);
    }

    [Fact]
    public void NetworkWithoutWeightsIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var error = Assert.Throws<ArgumentException>(() => ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Fsrcnn, 2));
        Assert.Contains("weightsPath", error.Message);
    }

    [SkippableFact]
    public void WeightsThatDoNotFitTheNetworkAreListed()
    {
        string weights = SharedData.Require("weights", "fsrcnn", "fsrcnn_x2.pth");
        var ml = new MLContext(seed: 1);
        var error = Assert.Throws<InvalidDataException>(() =>
            ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Espcn, 2, weights, SrChannels.Y));
        Assert.Contains("fsrcnn_x2.pth", error.Message);
        Assert.Contains("first_part.1.weight", error.Message);

        var rgb = Assert.Throws<InvalidDataException>(() =>
            ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Fsrcnn, 2, weights, SrChannels.Rgb));
        Assert.Contains("first_part.0.weight", rgb.Message);
    }
}
