using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Tests.Architectures;
using MLNet.SuperResolution.Tests.Training;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// SRGAN through <c>mlContext.Transforms.SuperResolution</c>: the options, their validation, adversarial training and
/// the perceptual loss with user-supplied VGG19 weights (a small VGG19-layout file written by the test).
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class AdversarialPipelineTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    /// <summary>A tiny SRResNet x2 (16 features, 2 blocks) on 16-pixel HR patches, with a width-16 discriminator.</summary>
    private static SuperResolutionOptions TinySrgan() => new()
    {
        Architecture = SrArchitecture.SrResNet,
        NetworkOptions = new SrResNetOptions { NumFeat = 16, NumBlock = 2 },
        Scale = 2,
        Epochs = 2,
        PatchesPerImage = 4,
        BatchSize = 4,
        PatchSize = 16,
        LearningRate = 1e-3,
        LogEveryNSteps = 3,
        AdversarialLossWeight = 1e-2,
        DiscriminatorWidth = 16,
    };

    private (SuperResolutionTransformer Model, List<string> Log) Train(SuperResolutionOptions options, string[] paths, int seed = 7)
    {
        var ml = new MLContext(seed: seed);
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal) && e.Kind >= ChannelMessageKind.Info)
                lock (log) log.Add($"{e.Kind}: {e.Message}");
        };
        var model = ml.Transforms.SuperResolution(options).Fit(Prepare(ml, paths));
        return (model, log);
    }

    private static IDataView Prepare(MLContext ml, string[] paths)
    {
        var data = TestImages.Paths(ml, paths);
        return ml.Transforms.LoadImages("HighRes", null, "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes"))
            .Fit(data).Transform(data);
    }

    private static float[] Weights(SuperResolutionTransformer model)
        => model.Upscaler.Network!.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).ToArray();

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    [Fact]
    public void AdversarialTrainingThroughThePipelineGivesAnOrdinarySrResNetModel()
    {
        var paths = _images.TrainingSet(24);
        var (model, log) = Train(TinySrgan(), paths);
        var pixelOptions = TinySrgan();
        pixelOptions.AdversarialLossWeight = null;
        pixelOptions.DiscriminatorWidth = 64;
        var (pixelModel, _) = Train(pixelOptions, paths);
        foreach (string line in log)
            output.WriteLine(line);

        var summary = model.TrainingSummary!;
        Assert.Equal(2 * 3, summary.Steps);
        Assert.Equal(0, summary.SkippedNonFiniteSteps);
        Assert.All(summary.EpochLosses, l => Assert.True(double.IsFinite(l)));
        Assert.Contains(log, l => l.Contains("L1 + 0.01 x adversarial (SRGAN discriminator, width 16, 16-pixel patches, lr 0.001) loss"));
        Assert.Contains(log, l => l.Contains("Loss:") && l.Contains("D(real)"));
        double difference = MaxDifference(Weights(model), Weights(pixelModel));
        output.WriteLine($"max |w_adversarial - w_pixel| = {difference:E3}");
        Assert.True(difference > 1e-4, $"adversarial training gave the pixel-only weights ({difference:E3})");

        // The fitted model is the generator alone: it saves and loads like any SrResNet model.
        var ml = new MLContext(seed: 1);
        var data = Prepare(ml, paths);
        string path = Path.Combine(_images.Directory, "srgan.zip");
        ml.Model.Save(model, data.Schema, path);
        var reloaded = ml.Model.Load(path, out _);
        var expected = TestImages.ReadImages(model.Transform(data), "SuperRes");
        var actual = TestImages.ReadImages(reloaded.Transform(data), "SuperRes");
        Assert.Equal(expected.Select(i => i.Planes), actual.Select(i => i.Planes));
    }

    [Fact]
    public void PerceptualLossTrainsWithSuppliedVgg19Weights()
    {
        var paths = _images.TrainingSet(24);
        string vgg = AdversarialTrainingTests.WriteSmallVgg19(_images.Directory, seed: 4);
        var options = TinySrgan();
        options.PixelLossWeight = 0; // SRGAN-VGG54: VGG content loss + adversarial loss
        options.PerceptualLossWeight = 1;
        options.Vgg19WeightsPath = vgg;
        var (model, log) = Train(options, paths);
        var withPixelLoss = TinySrgan();
        var (pixelModel, _) = Train(withPixelLoss, paths);
        foreach (string line in log)
            output.WriteLine(line);

        Assert.Contains(log, l => l.Contains("Perceptual loss: VGG19 features through relu5_4 from") && l.Contains("widths 16"));
        Assert.Contains(log, l => l.Contains("HR patch 16, 1 x VGG54 + 0.01 x adversarial"));
        var losses = model.TrainingSummary!.EpochLosses;
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0));
        Assert.Equal(0, model.TrainingSummary.SkippedNonFiniteSteps);
        Assert.True(MaxDifference(Weights(model), Weights(pixelModel)) > 1e-4, "the perceptual loss made no difference");
    }

    [Fact]
    public void PerceptualLossWithoutVgg19WeightsIsRefusedAndNothingIsDownloaded()
    {
        var options = TinySrgan();
        options.PerceptualLossWeight = 1;
        var error = Assert.Throws<ArgumentException>(() => new MLContext().Transforms.SuperResolution(options));
        Assert.Equal(nameof(SuperResolutionOptions.Vgg19WeightsPath), error.ParamName);
        Assert.Contains("PerceptualLossWeight needs VGG19 weights", error.Message);
        Assert.Contains("neither ships nor downloads", error.Message);
        Assert.Contains("torchvision.models.vgg19", error.Message);

        options.Vgg19WeightsPath = Path.Combine(_images.Directory, "missing-vgg19.pth");
        var missing = Assert.Throws<FileNotFoundException>(() => new MLContext().Transforms.SuperResolution(options));
        Assert.Contains("missing-vgg19.pth", missing.Message);
        Assert.Contains("nothing is downloaded", missing.Message);
    }

    public static TheoryData<string, string, string> InvalidOptions() => new()
    {
        { "on Espcn", nameof(SuperResolutionOptions.AdversarialLossWeight), "SrResNet (SRGAN's generator) only, and Architecture is Espcn" },
        { "negative weight", nameof(SuperResolutionOptions.AdversarialLossWeight), "positive number (the SRGAN paper's is 1e-3)" },
        { "patch 20", nameof(SuperResolutionOptions.PatchSize), "HR training patch (PatchSize 20 rounded down to a multiple of Scale 2: 20) must be a multiple of 16" },
        { "batch 1", nameof(SuperResolutionOptions.BatchSize), "at least 2" },
        { "discriminator rate without adversarial", nameof(SuperResolutionOptions.DiscriminatorLearningRate), "used only in adversarial training" },
        { "zero discriminator rate", nameof(SuperResolutionOptions.DiscriminatorLearningRate), "positive number" },
        { "zero width", nameof(SuperResolutionOptions.DiscriminatorWidth), "must be positive" },
        { "no content loss", nameof(SuperResolutionOptions.PixelLossWeight), "without a content loss" },
        { "VGG path without weight", nameof(SuperResolutionOptions.Vgg19WeightsPath), "used only by the perceptual loss" },
        { "perceptual on Y", nameof(SuperResolutionOptions.Channels), "RGB images" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidAdversarialOptionsAreRejected(string problem, string option, string message)
    {
        var options = TinySrgan();
        switch (problem)
        {
            case "on Espcn": options.Architecture = SrArchitecture.Espcn; options.NetworkOptions = null; break;
            case "negative weight": options.AdversarialLossWeight = -1e-3; break;
            case "patch 20": options.PatchSize = 20; break;
            case "batch 1": options.BatchSize = 1; break;
            case "discriminator rate without adversarial": options.AdversarialLossWeight = null; options.DiscriminatorWidth = 64; options.DiscriminatorLearningRate = 1e-4; break;
            case "zero discriminator rate": options.DiscriminatorLearningRate = 0; break;
            case "zero width": options.DiscriminatorWidth = 0; break;
            case "no content loss": options.PixelLossWeight = 0; break;
            case "VGG path without weight": options.Vgg19WeightsPath = TestImages.Sample("astronaut.png"); break;
            case "perceptual on Y":
                options.Channels = SrChannels.Y;
                options.PerceptualLossWeight = 1;
                options.Vgg19WeightsPath = TestImages.Sample("astronaut.png");
                break;
        }

        var error = Assert.ThrowsAny<ArgumentException>(() => new MLContext().Transforms.SuperResolution(options));
        output.WriteLine(error.Message);
        Assert.Equal(option, error.ParamName);
        Assert.Contains(message, error.Message);
    }
}
