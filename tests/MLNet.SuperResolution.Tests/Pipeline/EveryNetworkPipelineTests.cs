using Microsoft.ML;
using TorchSharp.PyBridge;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// Every learnt architecture through the public ML.NET surface: <c>SuperResolution(...)</c> trains it (Notes preset,
/// one short epoch), and its state_dict written in PyTorch's format imports through <c>ApplySuperResolutionModel</c>
/// into a network that gives the same output. Multi-output networks (LapSRN, DRCN, DRN) train on their own
/// <c>TrainingLoss</c> and output only the final image.
/// </summary>
public sealed class EveryNetworkPipelineTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    public static TheoryData<SrArchitecture> LearntArchitectures()
    {
        var data = new TheoryData<SrArchitecture>();
        foreach (var model in SrModelZoo.Models)
            if (model.Architecture != SrArchitecture.Bicubic)
                data.Add(model.Architecture);
        return data;
    }

    [Theory]
    [MemberData(nameof(LearntArchitectures))]
    public void Trains_ThroughThePipeline_AndItsPyTorchStateDictImportsWithIdenticalOutput(SrArchitecture architecture)
    {
        int scale = SrModelZoo.Get(architecture).Scales[0];
        var ml = new MLContext(seed: 3);
        var highRes = TestImages.Paths(ml, new[] { _images.Crop("coffee.png", 12 * scale, 10 * scale, 200, 150) });
        var lowRes = ml.Transforms.LoadImages("HighRes", null, "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
            .Fit(highRes).Transform(highRes);

        using var trained = ml.Transforms.SuperResolution(new SuperResolutionOptions
        {
            Architecture = architecture,
            Preset = SrPreset.Notes,
            Scale = scale,
            Epochs = 1,
            PatchesPerImage = 4,
            BatchSize = 2,
            PatchSize = 8 * scale,
        }).Fit(lowRes);

        var summary = trained.TrainingSummary!;
        output.WriteLine($"{architecture} x{scale}: {summary.Steps} steps, loss {string.Join(", ", summary.EpochLosses.Select(l => l.ToString("F4")))}");
        Assert.Equal(2, summary.Steps);
        Assert.Equal(0, summary.SkippedNonFiniteSteps);
        Assert.All(summary.EpochLosses, l => Assert.True(double.IsFinite(l)));

        string weights = Path.Combine(_images.Directory, $"{architecture}.pth");
        trained.Upscaler.Network!.save_py(weights);
        using var imported = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", architecture, scale, weights,
            SrChannels.Rgb, preset: SrPreset.Notes).Fit(lowRes);

        var expected = TestImages.ReadImages(trained.Transform(lowRes), "SuperRes")[0];
        var actual = TestImages.ReadImages(imported.Transform(lowRes), "SuperRes")[0];
        Assert.Equal((12 * scale, 10 * scale), (actual.Width, actual.Height));
        Assert.Equal(expected.Planes, actual.Planes);
    }
}
