using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Training;

/// <summary>Tensors are disposed deterministically: the live count does not grow per image or per training run.</summary>
public sealed class TensorLifetimeTests
{
    private static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    private static RgbImage RandomImage(int width, int height, int seed)
    {
        var bytes = new byte[3 * width * height];
        new Random(seed).NextBytes(bytes);
        return new RgbImage(width, height, bytes);
    }

    [Theory]
    [InlineData(SrArchitecture.Espcn, SrChannels.Rgb)]
    [InlineData(SrArchitecture.Srcnn, SrChannels.Y)]
    [InlineData(SrArchitecture.Fsrcnn, SrChannels.Y)]
    public void UpscalingDoesNotLeakTensors(SrArchitecture architecture, SrChannels channels)
    {
        using var upscaler = new SrUpscaler(architecture, 2, channels,
            NetworkFactory.Create(architecture, 2, channels.NetworkChannels()), CPU);
        var image = RandomImage(20, 16, 1);
        upscaler.Upscale(image); // warm-up: caches (e.g. the bicubic matrices) may be filled once
        long before = LiveTensors;
        for (int i = 0; i < 10; i++)
            upscaler.Upscale(image);
        Assert.Equal(before, LiveTensors);

        // Control: the counter does see a tensor that is not disposed.
        var kept = zeros(1);
        Assert.Equal(before + 1, LiveTensors);
        kept.Dispose();
    }

    /// <summary>A fresh ESPCN x2 and two random 24x24 training pairs.</summary>
    private static (SrNetwork Network, TrainingPair[] Data) TinyNetworkAndData()
    {
        random.manual_seed(1);
        var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 3);
        var data = new[] { 1, 2 }.Select(seed =>
        {
            var high = RandomImage(24, 24, seed);
            return new TrainingPair(ImageTensors.ToTensor(MatlabImresize.Downscale(high, 2))[0], ImageTensors.ToTensor(high)[0]);
        }).ToArray();
        return (network, data);
    }

    [Fact]
    public void TrainingDoesNotLeakTensorsPerRun()
    {
        var (network, data) = TinyNetworkAndData();
        using var disposeNetwork = network;
        var settings = new TrainingSettings(Scale: 2, Epochs: 2, PatchesPerImage: 4, BatchSize: 4, PatchSize: 16, LearningRate: 1e-3,
            Schedule: SrLearningRateSchedule.Cosine, Loss: SrLoss.L1, Seed: 1, LogEveryNSteps: 0, Device: CPU);

        SrTrainer.Train(network, data, settings, new SilentMonitor());
        long afterFirst = LiveTensors;
        SrTrainer.Train(network, data, settings with { Epochs = 5 }, new SilentMonitor());
        Assert.Equal(afterFirst, LiveTensors);
        foreach (var pair in data)
            pair.Dispose();
    }

    [Fact]
    public void TrainingWithAveragingValidationAndCheckpointsDoesNotLeakTensorsPerRun()
    {
        var (network, data) = TinyNetworkAndData();
        using var disposeNetwork = network;
        string directory = Path.Combine(Path.GetTempPath(), "sr-lifetime-" + Guid.NewGuid().ToString("N"));
        int calls = 0;
        var settings = new TrainingSettings(Scale: 2, Epochs: 2, PatchesPerImage: 4, BatchSize: 4, PatchSize: 16, LearningRate: 1e-3,
            Schedule: SrLearningRateSchedule.Cosine, Loss: SrLoss.L1, Seed: 1, LogEveryNSteps: 0, Device: CPU)
        {
            EmaDecay = 0.9,
            GradientClipNorm = 1,
            Validate = _ => ++calls % 2, // alternately better and worse
            KeepBestWeights = true,
            CheckpointDirectory = directory,
        };

        try
        {
            SrTrainer.Train(network, data, settings, new SilentMonitor());
            long afterFirst = LiveTensors;
            SrTrainer.Train(network, data, settings with { Epochs = 5 }, new SilentMonitor()); // resumes from the checkpoint
            Assert.Equal(afterFirst, LiveTensors);
            Assert.Equal(5, calls);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    private sealed class SilentMonitor : ITrainingMonitor
    {
        public void CheckAlive() { }

        public void Info(string message) { }

        public void Warning(string message) { }

        public void Progress(int epoch, int step, int totalSteps, double loss) { }
    }
}
