using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>mlContext.Model.Save/Load of whole pipelines, in this process and in a fresh one.</summary>
public sealed class PersistenceTests : IDisposable
{
    private readonly TestImages _images = new();
    private readonly ITestOutputHelper _output;

    public PersistenceTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _images.Dispose();

    private (ITransformer Model, IDataView Data, string[] Paths) TrainTinyPipeline(MLContext ml, SrChannels channels = SrChannels.Rgb)
    {
        var paths = _images.TrainingSet(32);
        var data = TestImages.Paths(ml, paths);
        var pipeline = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"))
            .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
            {
                Architecture = SrArchitecture.Espcn,
                Channels = channels,
                Scale = 2,
                Epochs = 2,
                PatchesPerImage = 4,
                BatchSize = 4,
                PatchSize = 16,
            }));
        return (pipeline.Fit(data), data, paths);
    }

    [Theory]
    [InlineData(SrChannels.Rgb)]
    [InlineData(SrChannels.Y)]
    [InlineData(SrChannels.Gray)]
    public void SaveAndLoadInProcessGivesIdenticalOutput(SrChannels channels)
    {
        var ml = new MLContext(seed: 1);
        var (model, data, _) = TrainTinyPipeline(ml, channels);
        string path = Path.Combine(_images.Directory, "model.zip");
        ml.Model.Save(model, data.Schema, path);

        var loaded = new MLContext(seed: 2).Model.Load(path, out var schema);
        Assert.NotNull(schema.GetColumnOrNull("Path"));

        var expected = TestImages.ReadImages(model.Transform(data), "SuperRes");
        var actual = TestImages.ReadImages(loaded.Transform(data), "SuperRes");
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Planes, actual[i].Planes);

        var reloaded = ((TransformerChain<ITransformer>)loaded).LastTransformer as SuperResolutionTransformer;
        Assert.NotNull(reloaded);
        Assert.Equal(SrArchitecture.Espcn, reloaded!.Architecture);
        Assert.Equal(channels, reloaded.Channels);
        Assert.Equal(2, reloaded.TrainingSummary!.EpochLosses.Count);
    }

    [Fact]
    public void FreshProcessLoadGivesBitIdenticalOutput()
    {
        var ml = new MLContext(seed: 1);
        var (model, data, paths) = TrainTinyPipeline(ml);
        string modelPath = Path.Combine(_images.Directory, "espcn-x2.zip");
        ml.Model.Save(model, data.Schema, modelPath);
        var expected = TestImages.ReadImages(model.Transform(data), "SuperRes")[0];

        // QuickStart's "load" step: a plain mlContext.Model.Load in a new process, no registration call.
        string outputImage = Path.Combine(_images.Directory, "fresh.png");
        string quickStart = Path.Combine(AppContext.BaseDirectory, "QuickStart.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { quickStart, "load", modelPath, paths[0], outputImage })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        _output.WriteLine(stdout + stderr);
        Assert.True(process.ExitCode == 0, $"child process failed ({process.ExitCode}): {stderr}");
        Assert.NotEqual(Environment.ProcessId.ToString(), stdout.Split("pid ")[1].Split(']')[0]);

        using var written = MLImage.CreateFromFile(outputImage);
        var actual = RgbImage.FromMLImage(written);
        Assert.Equal(expected.Width, actual.Width);
        Assert.Equal(expected.Height, actual.Height);
        Assert.Equal(expected.Planes, actual.Planes);
    }

    [Fact]
    public void BicubicAndDownscaleOnlyPipelinesRoundTrip()
    {
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, _images.TrainingSet(24));
        var model = ml.Transforms.LoadImages("HighRes", null, "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: 3, inputColumnName: "HighRes"))
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 3))
            .Fit(data);
        string path = Path.Combine(_images.Directory, "bicubic.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var expected = TestImages.ReadImages(model.Transform(data), "SuperRes");
        var actual = TestImages.ReadImages(loaded.Transform(data), "SuperRes");
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Planes, actual[i].Planes);
    }

    /// <summary>
    /// Fixtures/espcn-x2-format-10003.zip was saved by the previous format (0x00010003, before the skipped-row counts)
    /// after 2 epochs of a tiny ESPCN with a validation set: its training summary still loads, with no skipped rows.
    /// </summary>
    [Fact]
    public void TrainingSummaryOfThePreviousFormatLoads()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Inference", "Fixtures", "espcn-x2-format-10003.zip");
        using var loaded = (SuperResolutionTransformer)new MLContext(seed: 1).Model.Load(path, out _);
        var summary = loaded.TrainingSummary!;
        Assert.Equal((2, 0, 16, SrStopReason.Completed), (summary.Steps, summary.SkippedNonFiniteSteps, summary.PatchSize, summary.StopReason));
        Assert.Equal(new[] { 0.42321744561195374, 0.4382663071155548 }, summary.EpochLosses);
        Assert.Equal(new[] { new SrValidationResult(1, 1, 9.117613141860414), new SrValidationResult(2, 2, 9.119814006534813) }, summary.Validations);
        Assert.Equal((0, 0), (summary.SkippedTrainingRows, summary.SkippedValidationRows));
        var defaults = new SrInferenceOptions(); // read after the summary: a misread summary would shift them
        Assert.Equal((defaults.TileSize, defaults.TileOverlap, defaults.MaxUntiledPixels, defaults.SelfEnsemble, (bool?)false, SrPrecision.Float32),
            (loaded.Inference.TileSize, loaded.Inference.TileOverlap, loaded.Inference.MaxUntiledPixels, loaded.Inference.SelfEnsemble,
             loaded.Inference.ChannelsLast, loaded.Inference.Precision));
    }

    /// <summary>
    /// The library compiles against ML.NET's internal persistence API (build/Publicize.targets). That ties it to the
    /// pinned ML.NET (<c>MicrosoftMLVersion</c> in Directory.Build.props): a different version must be re-verified
    /// (this suite) before the pin moves.
    /// </summary>
    [Fact]
    public void MLNetIsThePinnedVersion()
    {
        string props = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "Directory.Build.props"));
        string pinned = System.Text.RegularExpressions.Regex.Match(props, "<MicrosoftMLVersion>([^<]+)</MicrosoftMLVersion>").Groups[1].Value;
        Assert.NotEmpty(pinned);
        foreach (var assembly in new[] { typeof(MLContext).Assembly, typeof(TransformerChain<>).Assembly, typeof(Microsoft.ML.Data.MLImage).Assembly })
        {
            string? version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            Assert.True(version?.StartsWith(pinned + "+", StringComparison.Ordinal) == true || version == pinned,
                $"{assembly.GetName().Name} is {version}; MLNet.SuperResolution is built and verified against ML.NET {pinned} internals.");
        }
    }
}
