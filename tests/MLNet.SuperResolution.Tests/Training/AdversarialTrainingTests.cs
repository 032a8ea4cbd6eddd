using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Tests.Architectures;
using MLNet.SuperResolution.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Training;

/// <summary>
/// SRGAN training in the trainer itself (tiny SRResNet, tiny discriminator, 24x24 images): both networks learn, the
/// discriminator changes what the generator learns, a non-finite step in either network skips the whole step, a resumed
/// run equals an uninterrupted one; and the VGG54 perceptual loss on a small VGG19-layout state_dict.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class AdversarialTrainingTests(ITestOutputHelper output) : IDisposable
{
    private const int DiscriminatorWidth = 16; // multiples of 16 channels: no channel padding, fast
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private static SrResNet TinyGenerator(int seed)
    {
        random.manual_seed(seed);
        return new SrResNet(new SrResNetOptions { NumFeat = 16, NumBlock = 2 }, 2, 3);
    }

    private static SrganDiscriminator TinyDiscriminator(int seed)
    {
        random.manual_seed(seed);
        return new SrganDiscriminator(channels: 3, patchSize: 16, width: DiscriminatorWidth);
    }

    /// <summary>Three 24x24 crops of the sample photos and their MATLAB-bicubic x2 LR images.</summary>
    private static TrainingPair[] TinyData()
    {
        var crops = new[] { ("astronaut.png", 180, 100), ("coffee.png", 200, 150), ("chelsea.png", 150, 80) };
        return crops.Select(c =>
        {
            using var source = Microsoft.ML.Data.MLImage.CreateFromFile(TestImages.Sample(c.Item1));
            var image = RgbImage.FromMLImage(source);
            var planes = new byte[3 * 24 * 24];
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < 24; y++)
                    Array.Copy(image.Planes, ch * image.PlaneSize + (c.Item3 + y) * image.Width + c.Item2, planes, ch * 576 + y * 24, 24);
            var high = new RgbImage(24, 24, planes);
            return new TrainingPair(ImageTensors.ToTensor(MatlabImresize.Downscale(high, 2))[0], ImageTensors.ToTensor(high)[0]);
        }).ToArray();
    }

    private static TrainingSettings Settings(int epochs, SrganDiscriminator? discriminator, double weight = 1e-2) =>
        new(Scale: 2, Epochs: epochs, PatchesPerImage: 4, BatchSize: 4, PatchSize: 16, LearningRate: 1e-3,
            Schedule: SrLearningRateSchedule.Cosine, Loss: SrLoss.L1, Seed: 3, LogEveryNSteps: 3, Device: CPU)
        {
            Adversarial = discriminator is null ? null : new AdversarialSettings(discriminator, weight, 4e-4),
        };

    private static Tensor[] Parameters(nn.Module module) => module.parameters().Select(p => p.detach().clone()).ToArray();

    private static Tensor[] State(nn.Module module) => module.state_dict().Values.Select(t => t.detach().clone()).ToArray();

    private static double MaxDifference(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
    {
        Assert.Equal(a.Count, b.Count);
        return a.Zip(b).Max(p => p.First.to(float64).sub(p.Second.to(float64)).abs().max().item<double>());
    }

    [Fact]
    public void TheDiscriminatorLearnsAndChangesWhatTheGeneratorLearns()
    {
        var data = TinyData();
        try
        {
            using var adversarialGenerator = TinyGenerator(1);
            using var pixelGenerator = TinyGenerator(1);
            using var discriminator = TinyDiscriminator(2);
            var discriminatorBefore = Parameters(discriminator);
            var monitor = new RecordingMonitor();

            var summary = SrTrainer.Train(adversarialGenerator, data, Settings(3, discriminator), monitor);
            var pixelSummary = SrTrainer.Train(pixelGenerator, data, Settings(3, null), new RecordingMonitor());
            foreach (string line in monitor.Lines.Where(l => l.Contains("Loss:") || l.Contains("adversarial")))
                output.WriteLine(line);

            Assert.Equal(9, summary.Steps); // 3 images x 4 patches / batch 4 = 3 steps per epoch
            Assert.Equal(0, summary.SkippedNonFiniteSteps);
            Assert.True(MaxDifference(discriminatorBefore, Parameters(discriminator)) > 1e-4, "the discriminator did not change");
            Assert.All(discriminator.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));

            // Same initial generator, same patches: the adversarial term alone makes the difference.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = data[0].LowRes.unsqueeze(0);
            double difference = adversarialGenerator.forward(input).sub(pixelGenerator.forward(input)).abs().max().item<float>();
            output.WriteLine($"max |G_adversarial - G_pixel| on an LR image: {difference:E3}; epoch losses {string.Join(", ", summary.EpochLosses.Select(l => l.ToString("F4")))} " +
                             $"vs pixel-only {string.Join(", ", pixelSummary.EpochLosses.Select(l => l.ToString("F4")))}");
            Assert.True(difference > 1e-3, $"adversarial training gave the pixel-only output ({difference:E3})");

            Assert.Contains(monitor.Lines, l => l.Contains("0.01 x adversarial (SRGAN discriminator, width 16, 16-pixel patches, lr 0.0004)"));
            var logged = monitor.Lines.Where(l => l.Contains("Loss:")).ToList();
            Assert.Equal(3, logged.Count); // every 3 steps
            Assert.All(logged, l => Assert.Matches(@"Loss: [0-9.]+ \(G: content [0-9.]+ \+ 0\.01 x adversarial [0-9.]+; D: [0-9.]+, D\(real\) [0-9.]+, D\(fake\) [0-9.]+\)", l));
        }
        finally
        {
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ANonFiniteGradientInEitherNetworkSkipsTheWholeStep(bool inDiscriminator)
    {
        var data = TinyData();
        try
        {
            // One step per epoch, constant rate: the 2-step run with step 2 poisoned must end with the 1-step run's weights.
            TrainingSettings Run(int epochs, SrganDiscriminator discriminator) => Settings(epochs, discriminator) with
            {
                PatchesPerImage = 1,
                BatchSize = 3,
                Schedule = SrLearningRateSchedule.Constant,
            };

            using var oneStepGenerator = TinyGenerator(1);
            using var oneStepDiscriminator = TinyDiscriminator(2);
            SrTrainer.Train(oneStepGenerator, data, Run(1, oneStepDiscriminator), new RecordingMonitor());

            using var generator = TinyGenerator(1);
            using var discriminator = TinyDiscriminator(2);
            var monitor = new RecordingMonitor();
            var settings = inDiscriminator
                ? Run(2, discriminator) with { InjectNonFiniteDiscriminatorGradientAtStep = 2 }
                : Run(2, discriminator) with { InjectNonFiniteGradientAtStep = 2 };
            var summary = SrTrainer.Train(generator, data, settings, monitor);

            Assert.Equal(2, summary.Steps);
            Assert.Equal(1, summary.SkippedNonFiniteSteps);
            Assert.Contains(monitor.Warnings, w => w.Contains("Step 2:") && w.Contains("discriminator loss") && w.Contains("neither the generator nor the discriminator changed"));
            // Parameters, not batch-norm running statistics: the skipped step's forward passes still saw its batch.
            Assert.Equal(0, MaxDifference(Parameters(oneStepGenerator), Parameters(generator)));
            Assert.Equal(0, MaxDifference(Parameters(oneStepDiscriminator), Parameters(discriminator)));
        }
        finally
        {
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    [Fact]
    public void ResumingAnAdversarialRunGivesTheUninterruptedGeneratorAndDiscriminator()
    {
        var data = TinyData();
        string directory = Path.Combine(_images.Directory, "checkpoint");
        try
        {
            TrainingSettings Run(SrganDiscriminator discriminator, string? checkpoints) => Settings(4, discriminator) with
            {
                PatchesPerImage = 2,
                BatchSize = 3, // 2 steps per epoch
                EmaDecay = 0.8,
                CheckpointDirectory = checkpoints,
                CheckpointEveryNEpochs = 2,
            };

            using var generator = TinyGenerator(1);
            using var discriminator = TinyDiscriminator(2);
            var uninterrupted = SrTrainer.Train(generator, data, Run(discriminator, null), new RecordingMonitor());

            using (var stoppedGenerator = TinyGenerator(1))
            using (var stoppedDiscriminator = TinyDiscriminator(2))
            {
                var stopping = new RecordingMonitor { CancelOn = "Checkpoint written at step 4 " };
                Assert.Throws<OperationCanceledException>(() => SrTrainer.Train(stoppedGenerator, data, Run(stoppedDiscriminator, directory), stopping));
            }

            using var resumedGenerator = TinyGenerator(1);
            using var resumedDiscriminator = TinyDiscriminator(2);
            var monitor = new RecordingMonitor();
            var resumed = SrTrainer.Train(resumedGenerator, data, Run(resumedDiscriminator, directory), monitor);

            Assert.Contains(monitor.Lines, l => l.Contains("Resumed from") && l.Contains("step 4"));
            Assert.Equal(8, resumed.Steps);
            for (int i = 0; i < 4; i++)
                Assert.Equal(uninterrupted.EpochLosses[i], resumed.EpochLosses[i], 1e-5);
            // Every state_dict entry: weights and batch-norm running statistics of both networks.
            Assert.True(MaxDifference(State(generator), State(resumedGenerator)) <= 1e-5);
            Assert.True(MaxDifference(State(discriminator), State(resumedDiscriminator)) <= 1e-5);

            // A pixel-only run cannot continue an adversarial checkpoint (and says so).
            using var pixelGenerator = TinyGenerator(1);
            var error = Assert.Throws<InvalidOperationException>(() =>
                SrTrainer.Train(pixelGenerator, data, Settings(4, null) with { PatchesPerImage = 2, BatchSize = 3, CheckpointDirectory = directory, EmaDecay = 0.8 }, new RecordingMonitor()));
            Assert.Contains("with adversarial training", error.Message);
            Assert.Contains("empty CheckpointDirectory", error.Message);
        }
        finally
        {
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    [Fact]
    public void AdversarialTrainingWithThePerceptualLossDoesNotLeakTensorsPerRun()
    {
        var data = TinyData();
        try
        {
            using var generator = TinyGenerator(1);
            using var discriminator = TinyDiscriminator(2);
            using var perceptual = PerceptualLoss.Load(WriteSmallVgg19(_images.Directory, 4));
            var settings = Settings(1, discriminator) with
            {
                Perceptual = new PerceptualLossSettings(perceptual, 1),
                PixelLossWeight = 0.5,
                GradientClipNorm = 1,
                EmaDecay = 0.9,
                CheckpointDirectory = Path.Combine(_images.Directory, "lifetime"),
            };

            SrTrainer.Train(generator, data, settings, new RecordingMonitor());
            long afterFirst = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            SrTrainer.Train(generator, data, settings with { Epochs = 3 }, new RecordingMonitor()); // resumes from the checkpoint
            Assert.Equal(afterFirst, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        finally
        {
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    [Fact]
    public void ADiscriminatorForAnotherPatchSizeIsRefused()
    {
        var data = TinyData();
        try
        {
            using var generator = TinyGenerator(1);
            using var discriminator = new SrganDiscriminator(3, patchSize: 32, width: DiscriminatorWidth);
            var error = Assert.Throws<InvalidOperationException>(() => SrTrainer.Train(generator, data, Settings(1, discriminator), new RecordingMonitor()));
            Assert.Contains("32-pixel patches but the training patches are 16", error.Message);
        }
        finally
        {
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    /// <summary>A VGG19-layout state_dict with 16 channels per convolution, plus torchvision's classifier keys (ignored).</summary>
    internal static string WriteSmallVgg19(string directory, int seed, bool safetensors = false, bool asVgg16 = false)
    {
        random.manual_seed(seed);
        using var vgg = new Vgg19Features(Enumerable.Repeat(16, 16).ToArray());
        var stateDict = vgg.state_dict().ToDictionary(e => e.Key, e => e.Value);
        if (asVgg16) // vgg16's convolutions sit at 0, 2, 5, 7, 10, 12, 14, 17, ...: rename 16 -> 17 as a stand-in
        {
            stateDict["features.17.weight"] = stateDict["features.16.weight"];
            stateDict["features.17.bias"] = stateDict["features.16.bias"];
            stateDict.Remove("features.16.weight");
            stateDict.Remove("features.16.bias");
        }

        stateDict["classifier.0.weight"] = randn(8, 16);
        stateDict["classifier.0.bias"] = randn(8);
        string path = Path.Combine(directory, $"vgg19-small-{seed}{(asVgg16 ? "-16" : "")}.{(safetensors ? "safetensors" : "pth")}");
        using var stream = File.Create(path);
        if (safetensors)
            Safetensors.SaveStateDict(stream, stateDict);
        else
            PyTorchPickler.PickleStateDict(stream, stateDict);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PerceptualLossIsTheMeanSquaredVgg54FeatureDifference(bool safetensors)
    {
        string path = WriteSmallVgg19(_images.Directory, 5, safetensors);
        using var loss = PerceptualLoss.Load(path);
        Assert.Equal(Enumerable.Repeat(16, 16), loss.Network.Widths);

        // The same layers with the same seed, built here: what the loss must compute.
        random.manual_seed(5);
        using var expectedVgg = new Vgg19Features(Enumerable.Repeat(16, 16).ToArray());
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        var target = rand(2, 3, 32, 32);
        var outputImage = rand(2, 3, 32, 32).requires_grad_(true);
        var mean = tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1);
        var std = tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1);
        Tensor expected;
        using (no_grad())
        {
            var features = expectedVgg.forward(outputImage.sub(mean).div(std));
            Assert.Equal(new long[] { 2, 16, 2, 2 }, features.shape); // relu5_4 of 32x32: four poolings
            expected = features.sub(expectedVgg.forward(target.sub(mean).div(std))).square().mean();
        }

        var value = loss.Loss(outputImage, target);
        Assert.Equal(expected.item<float>(), value.item<float>(), 1e-6);
        Assert.True(value.item<float>() > 0);
        Assert.Equal(0, loss.Loss(target, target).item<float>());

        value.backward();
        var gradient = outputImage.grad!;
        Assert.True(gradient.isfinite().all().item<bool>());
        Assert.True(gradient.abs().max().item<float>() > 0, "no gradient reaches the output image");
        Assert.All(loss.Network.parameters(), p => Assert.Null(p.grad)); // the VGG stays fixed
    }

    [Fact]
    public void AStateDictThatIsNotVgg19IsRefusedWithTheKeysThatDiffer()
    {
        string path = WriteSmallVgg19(_images.Directory, 5, asVgg16: true);
        var error = Assert.Throws<InvalidDataException>(() => PerceptualLoss.Load(path));
        Assert.Contains("missing: features.16.bias, features.16.weight", error.Message);
        Assert.Contains("unexpected: features.17.bias, features.17.weight", error.Message);
        Assert.Contains("not vgg16, not vgg19_bn", error.Message);
        Assert.Contains("torchvision.models.vgg19", error.Message);

        var missing = Assert.Throws<FileNotFoundException>(() => PerceptualLoss.Load(Path.Combine(_images.Directory, "none.pth")));
        Assert.Contains("nothing is downloaded", missing.Message);
    }

    private sealed class RecordingMonitor : ITrainingMonitor
    {
        public List<string> Lines { get; } = new();

        public List<string> Warnings { get; } = new();

        /// <summary>Throws OperationCanceledException at the next CheckAlive after an info line containing this.</summary>
        public string? CancelOn { get; init; }

        private bool _cancel;

        public void CheckAlive()
        {
            if (_cancel)
                throw new OperationCanceledException("cancelled by the test");
        }

        public void Info(string message)
        {
            Lines.Add(message);
            _cancel |= CancelOn is not null && message.Contains(CancelOn, StringComparison.Ordinal);
        }

        public void Warning(string message) => Warnings.Add(message);

        public void Progress(int epoch, int step, int totalSteps, double loss) { }
    }
}
