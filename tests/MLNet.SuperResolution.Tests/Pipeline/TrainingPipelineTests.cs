using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>Training through the ML.NET pipeline: loss goes down, logging, non-finite guard, cancellation, determinism.</summary>
public sealed class TrainingPipelineTests : IDisposable
{
    private readonly TestImages _images = new();
    private readonly ITestOutputHelper _output;

    public TrainingPipelineTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _images.Dispose();

    private static SuperResolutionOptions Tiny(SrArchitecture architecture, SrChannels channels, int scale = 2) => new()
    {
        Architecture = architecture,
        Channels = channels,
        Scale = scale,
        InputColumnName = "LowRes",
        LabelColumnName = "HighRes",
        OutputColumnName = "SuperRes",
        Epochs = 6,
        PatchesPerImage = 8,
        BatchSize = 4,
        PatchSize = 8 * scale,
        LearningRate = 2e-3,
        LogEveryNSteps = 5,
    };

    private (SuperResolutionTransformer Model, List<string> Log) Train(MLContext ml, SuperResolutionOptions options, string[]? paths = null)
    {
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal) && e.Kind >= ChannelMessageKind.Info)
                lock (log) log.Add($"{e.Kind}: {e.Message}");
        };
        var data = Prepare(ml, paths ?? _images.TrainingSet(), options.Scale ?? 2);
        var model = ml.Transforms.SuperResolution(options).Fit(data);
        return (model, log);
    }

    private static IDataView Prepare(MLContext ml, string[] paths, int scale)
    {
        var data = TestImages.Paths(ml, paths);
        return ml.Transforms.LoadImages("HighRes", null, "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
            .Fit(data).Transform(data);
    }

    private static double[] Weights(SuperResolutionTransformer model)
        => model.Upscaler.Network!.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).Select(v => (double)v).ToArray();

    [Theory]
    [InlineData(SrArchitecture.Espcn, SrChannels.Rgb)]
    [InlineData(SrArchitecture.Espcn, SrChannels.Y)]
    [InlineData(SrArchitecture.Srcnn, SrChannels.Y)]
    [InlineData(SrArchitecture.Fsrcnn, SrChannels.Y)]
    [InlineData(SrArchitecture.Fsrcnn, SrChannels.Rgb)]
    public void TrainingThroughThePipelineLowersTheLoss(SrArchitecture architecture, SrChannels channels)
    {
        var ml = new MLContext(seed: 7);
        var (model, log) = Train(ml, Tiny(architecture, channels));
        var summary = model.TrainingSummary!;
        _output.WriteLine($"{architecture} {channels}: epoch losses {string.Join(", ", summary.EpochLosses.Select(l => l.ToString("F4")))}; skipped {summary.SkippedNonFiniteSteps}");

        Assert.Equal(6 * 6, summary.Steps); // 3 images x 8 patches / batch 4 = 6 steps per epoch
        Assert.True(summary.EpochLosses[^1] < summary.EpochLosses[0],
            $"loss did not decrease: {summary.EpochLosses[0]:F5} -> {summary.EpochLosses[^1]:F5}");
        Assert.Contains(log, line => line.Contains("Loss:"));
        Assert.Equal(architecture, model.Architecture);
        Assert.Equal(channels, model.Channels);
    }

    [Fact]
    public void TrainedModelUpscalesTheImageColumn()
    {
        var ml = new MLContext(seed: 1);
        var paths = _images.TrainingSet();
        var (model, _) = Train(ml, Tiny(SrArchitecture.Espcn, SrChannels.Rgb, scale: 3), paths);
        var data = TestImages.Paths(ml, paths);
        var lowRes = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 3, "HighRes")).Fit(data).Transform(data);
        var output = model.Transform(lowRes);

        var low = TestImages.ReadImages(output, "LowRes");
        var super = TestImages.ReadImages(output, "SuperRes");
        for (int i = 0; i < low.Count; i++)
        {
            Assert.Equal(low[i].Width * 3, super[i].Width);
            Assert.Equal(low[i].Height * 3, super[i].Height);
        }

        Assert.Equal(paths[0], super[0].Source);
    }

    [Fact]
    public void NonFiniteGradientStepIsSkippedCountedAndReported()
    {
        var ml = new MLContext(seed: 3);
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Rgb);
        options.InjectNonFiniteGradientAtStep = 4;
        var (model, log) = Train(ml, options);

        Assert.True(model.TrainingSummary!.SkippedNonFiniteSteps >= 1);
        Assert.Contains(log, line => line.StartsWith("Warning") && line.Contains("Step 4:") && line.Contains("skipped"));
        Assert.Contains(log, line => line.Contains("steps were skipped because of non-finite"));
        // The poisoned step did not reach the weights.
        Assert.All(model.Upscaler.Network!.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var paths = _images.TrainingSet();
        var first = Train(new MLContext(seed: 11), Tiny(SrArchitecture.Espcn, SrChannels.Y), paths).Model;
        var second = Train(new MLContext(seed: 11), Tiny(SrArchitecture.Espcn, SrChannels.Y), paths).Model;
        var a = first.Upscaler.Network!.parameters().ToArray();
        var b = second.Upscaler.Network!.parameters().ToArray();
        for (int i = 0; i < a.Length; i++)
            Assert.True(a[i].eq(b[i]).all().item<bool>(), $"parameter {i} differs");
        Assert.Equal(first.TrainingSummary!.EpochLosses, second.TrainingSummary!.EpochLosses);
    }

    [Fact]
    public void WarmupMultiStepClippingAndAveragingTrain()
    {
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.LearningRateSchedule = SrLearningRateSchedule.MultiStep;
        options.Milestones = new[] { 3, 5 };
        options.WarmupSteps = 4;
        options.GradientClipNorm = 0.5;
        options.EmaDecay = 0.5;
        options.AdamBeta1 = 0.8;
        var (model, _) = Train(new MLContext(seed: 4), options);
        var losses = model.TrainingSummary!.EpochLosses;
        Assert.True(losses[^1] < losses[0], $"loss did not decrease: {losses[0]:F5} -> {losses[^1]:F5}");
        Assert.All(model.Upscaler.Network!.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Theory]
    [InlineData(nameof(SuperResolutionOptions.Milestones), "strictly increasing")]
    [InlineData(nameof(SuperResolutionOptions.Gamma), "Gamma")]
    [InlineData(nameof(SuperResolutionOptions.EmaDecay), "EmaDecay")]
    [InlineData(nameof(SuperResolutionOptions.GradientClipNorm), "GradientClipNorm")]
    public void InvalidOptimisationOptionsAreRejected(string option, string message)
    {
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.LearningRateSchedule = SrLearningRateSchedule.MultiStep;
        options.Milestones = option == nameof(options.Milestones) ? new[] { 5, 3 } : new[] { 2 };
        if (option == nameof(options.Gamma)) options.Gamma = 1.5;
        if (option == nameof(options.EmaDecay)) options.EmaDecay = 1;
        if (option == nameof(options.GradientClipNorm)) options.GradientClipNorm = 0;
        var error = Assert.ThrowsAny<ArgumentException>(() => new MLContext().Transforms.SuperResolution(options));
        Assert.Contains(message, error.Message);
        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        var ml = new MLContext(seed: 5);
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("Loss:"))
                CancelExecution(ml);
        };
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Rgb);
        options.Epochs = 1000;
        var error = Record.Exception(() => Train(ml, options));
        Assert.NotNull(error);
        Assert.Contains("cancel", error!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(SrArchitecture.Espcn)]
    [InlineData(SrArchitecture.Fsrcnn)] // two parameter groups (the tail at a tenth of the rate): both groups' Adam state resumes
    public void ResumingFromACheckpointGivesTheUninterruptedWeights(SrArchitecture architecture)
    {
        var paths = _images.TrainingSet();
        var options = Tiny(architecture, SrChannels.Y);
        options.Epochs = 4;
        options.EmaDecay = 0.8;
        var (uninterrupted, _) = Train(new MLContext(seed: 13), options, paths);

        string directory = Path.Combine(Path.GetTempPath(), "sr-checkpoint-" + Guid.NewGuid().ToString("N"));
        try
        {
            options.CheckpointDirectory = directory;
            options.CheckpointEveryNEpochs = 2;
            var interrupted = new MLContext(seed: 13);
            interrupted.Log += (_, e) =>
            {
                if (e.Message.Contains("Checkpoint written at step 12 ", StringComparison.Ordinal))
                    CancelExecution(interrupted);
            };
            Assert.NotNull(Record.Exception(() => Train(interrupted, options, paths)));
            Assert.True(File.Exists(Path.Combine(directory, "training.srcheckpoint")));
            Assert.False(File.Exists(Path.Combine(directory, "training.srcheckpoint.tmp")));

            var (resumed, log) = Train(new MLContext(seed: 13), options, paths);
            Assert.Contains(log, line => line.Contains("Resumed from") && line.Contains("step 12"));
            Assert.Equal(24, resumed.TrainingSummary!.Steps);
            Assert.Equal(4, resumed.TrainingSummary.EpochLosses.Count);
            for (int i = 0; i < 4; i++)
                Assert.Equal(uninterrupted.TrainingSummary!.EpochLosses[i], resumed.TrainingSummary.EpochLosses[i], 1e-5);
            var expected = Weights(uninterrupted);
            var actual = Weights(resumed);
            Assert.Equal(expected.Length, actual.Length);
            Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First, pair.Second, 1e-5));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void AFinishedRunContinuesToMoreEpochsAndRefusesAnotherNetwork()
    {
        var paths = _images.TrainingSet();
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.LearningRateSchedule = SrLearningRateSchedule.Constant; // independent of Epochs, unlike the cosine
        options.Epochs = 3;
        var (uninterrupted, _) = Train(new MLContext(seed: 17), options, paths);

        string directory = Path.Combine(Path.GetTempPath(), "sr-checkpoint-" + Guid.NewGuid().ToString("N"));
        try
        {
            options.CheckpointDirectory = directory;
            options.CheckpointEveryNEpochs = 5; // only the end-of-training checkpoint
            options.Epochs = 1;
            Train(new MLContext(seed: 17), options, paths);
            options.Epochs = 3;
            var (continued, _) = Train(new MLContext(seed: 17), options, paths);
            Assert.Equal(18, continued.TrainingSummary!.Steps);
            Assert.All(Weights(uninterrupted).Zip(Weights(continued)), pair => Assert.Equal(pair.First, pair.Second, 1e-5));

            options.Channels = SrChannels.Rgb; // a 3-channel network cannot resume a 1-channel checkpoint
            var error = Assert.Throws<InvalidOperationException>(() => Train(new MLContext(seed: 17), options, paths));
            Assert.Contains("another network", error.Message);
            Assert.Contains("empty CheckpointDirectory", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ValidationIsRecordedAndTheBestWeightsCanBeKept(bool keepBest)
    {
        var ml = new MLContext(seed: 21);
        var paths = _images.TrainingSet();
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.Epochs = 8;
        options.LearningRate = 0.05; // too high: the validation PSNR goes up and down
        options.LearningRateSchedule = SrLearningRateSchedule.Constant;
        options.ValidationSet = Prepare(ml, paths, 2);
        options.KeepBestWeights = keepBest;
        var (model, log) = Train(ml, options, paths);
        var summary = model.TrainingSummary!;
        _output.WriteLine(string.Join(", ", summary.Validations.Select(v => $"{v.Epoch}: {v.Psnr:F3}")));

        Assert.Equal(Enumerable.Range(1, 8), summary.Validations.Select(v => v.Epoch));
        Assert.Contains(log, line => line.Contains("validation PSNR:"));
        var best = summary.BestValidation!;
        Assert.True(best.Psnr > summary.Validations[^1].Psnr, "the case needs a last epoch worse than the best");
        double psnr = ml.SuperResolution().Evaluate(model.Transform(options.ValidationSet), 2).Psnr;
        Assert.Equal(keepBest ? best.Psnr : summary.Validations[^1].Psnr, psnr, 1e-6);

        // The validation history is saved with the model.
        string path = Path.Combine(_images.Directory, $"validated-{keepBest}.zip");
        ml.Model.Save(model, options.ValidationSet.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var reloaded = (loaded as SuperResolutionTransformer ?? (((TransformerChain<ITransformer>)loaded).LastTransformer as SuperResolutionTransformer))!.TrainingSummary!;
        Assert.Equal(summary.Validations, reloaded.Validations);
        Assert.Equal(summary.StopReason, reloaded.StopReason);
    }

    [Fact]
    public void EarlyStoppingStopsAfterThePatience()
    {
        var ml = new MLContext(seed: 21);
        var paths = _images.TrainingSet();
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.Epochs = 30;
        options.LearningRate = 0.05;
        options.LearningRateSchedule = SrLearningRateSchedule.Constant;
        options.ValidationSet = Prepare(ml, paths, 2);
        options.EarlyStoppingPatience = 2;
        var (model, log) = Train(ml, options, paths);
        var summary = model.TrainingSummary!;

        Assert.Equal(SrStopReason.EarlyStopping, summary.StopReason);
        Assert.True(summary.Steps < 30 * 6);
        var validations = summary.Validations;
        Assert.Equal(summary.Steps / 6, validations.Count);
        Assert.True(validations[^1].Psnr <= validations[^3].Psnr && validations[^2].Psnr <= validations[^3].Psnr);
        Assert.Contains(log, line => line.Contains("Early stopping"));
    }

    [Fact]
    public void TimeBudgetStopsTraining()
    {
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Y);
        options.Epochs = 1000;
        options.MaxTrainingTime = TimeSpan.FromMilliseconds(1);
        var (model, log) = Train(new MLContext(seed: 2), options);
        Assert.Equal(SrStopReason.TimeLimit, model.TrainingSummary!.StopReason);
        Assert.Equal(1, model.TrainingSummary.Steps);
        Assert.Single(model.TrainingSummary.EpochLosses); // the partial epoch
        Assert.Contains(log, line => line.Contains("time limit"));
    }

    [Fact]
    public void ProgressCallbackSeesEveryStep_AndTheCancellationTokenStopsTraining()
    {
        var ml = new MLContext(seed: 7);
        var seen = new List<SrTrainingProgress>();
        var options = Tiny(SrArchitecture.Espcn, SrChannels.Rgb);
        options.ProgressCallback = seen.Add;
        var (model, _) = Train(ml, options);
        model.Dispose();
        Assert.Equal(Enumerable.Range(1, 36), seen.Select(p => p.Step));
        Assert.All(seen, p => Assert.Equal(36, p.TotalSteps));
        Assert.All(seen, p => Assert.Equal(6, p.Epochs));
        Assert.Equal(Enumerable.Range(1, 6).SelectMany(e => Enumerable.Repeat(e, 6)), seen.Select(p => p.Epoch));
        Assert.All(seen, p => Assert.True(double.IsFinite(p.Loss) && p.PatchesPerSecond > 0));
        Assert.Equal(TimeSpan.Zero, seen[^1].Remaining);

        using var cancellation = new CancellationTokenSource();
        var cancelled = Tiny(SrArchitecture.Espcn, SrChannels.Rgb);
        int calls = 0;
        cancelled.ProgressCallback = p =>
        {
            calls++;
            if (p.Step == 10)
                cancellation.Cancel();
        };
        cancelled.CancellationToken = cancellation.Token;
        Assert.ThrowsAny<OperationCanceledException>(() => Train(new MLContext(seed: 7), cancelled));
        Assert.Equal(10, calls);
    }

    [Fact]
    public void SaveWeights_ThenInitialWeightsSkipMismatched_StartsX3FromX2WeightsExceptTheUpsampler()
    {
        var ml = new MLContext(seed: 7);
        var x2 = Tiny(SrArchitecture.EdsrBaseline, SrChannels.Rgb);
        x2.NetworkOptions = MLNet.SuperResolution.Architectures.EdsrBaselineOptions.Notes with { NumFeat = 8, NumBlock = 2 };
        x2.Epochs = 1;
        var (model2, _) = Train(ml, x2);
        string safetensors = Path.Combine(_images.Directory, "x2.safetensors"), pth = Path.Combine(_images.Directory, "x2.pth");
        model2.SaveWeights(safetensors);
        model2.SaveWeights(pth);
        var x2Weights = model2.Upscaler.Network!.state_dict();

        // Strict loading refuses the x2 file for an x3 network and names the upsampler's keys.
        var x3 = Tiny(SrArchitecture.EdsrBaseline, SrChannels.Rgb, scale: 3);
        x3.NetworkOptions = x2.NetworkOptions;
        x3.Epochs = 1;
        x3.LearningRate = 1e-12; // one step that changes nothing measurable: compare what was loaded
        x3.InitialWeightsPath = safetensors;
        var error = Assert.Throws<InvalidDataException>(() => Train(new MLContext(seed: 7), x3));
        Assert.Contains("tail.0.0.weight", error.Message);

        foreach (string file in new[] { safetensors, pth })
        {
            x3.InitialWeightsPath = file;
            x3.InitialWeightsSkipMismatched = true;
            var (model3, log) = Train(new MLContext(seed: 7), x3);
            Assert.Contains(log, line => line.Contains("kept as initialised") && line.Contains("tail.0.0.weight"));
            var x3Weights = model3.Upscaler.Network!.state_dict();
            foreach (var (key, tensor) in x3Weights)
            {
                if (key.StartsWith("tail.0.", StringComparison.Ordinal))
                    continue; // the x3 upsampler: its own shape, as initialised
                Assert.True(x2Weights[key].allclose(tensor, rtol: 0, atol: 1e-6), $"{key} was not copied from the x2 weights");
            }

            model3.Dispose();
        }

        model2.Dispose();
    }

    /// <summary>ML.NET's cancellation (MLContext's internal CancelExecution; host.CheckAlive observes it).</summary>
    private static void CancelExecution(MLContext ml)
        => typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.Invoke(ml, null);
}
