using BenchmarkDotNet.Attributes;
using MLNet.SuperResolution.Architectures;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// One training step as the trainer takes it (Adam, L1, zero_grad / forward / backward / step) on a batch of 16
/// random 48x48 HR patches and their 48/scale LR patches.
/// </summary>
[Config(typeof(ShortJobConfig))]
public class TrainStepBenchmarks
{
    private SrNetwork? _network;
    private TrainStep? _step;
    private Tensor? _lowRes;
    private Tensor? _highRes;

    /// <summary>Network, preset, channels and scale, e.g. <c>Espcn-Paper-Y-x2</c>.</summary>
    [Params("Srcnn-Paper-Y-x2", "Fsrcnn-Paper-Y-x2", "Espcn-Paper-Y-x2", "Vdsr-Notes-RGB-x2", "EdsrBaseline-Paper-RGB-x2",
        "Rcan-Notes-RGB-x2", "Rdn-Notes-RGB-x2", "SrResNet-Notes-RGB-x2", "Espcn-Paper-Y-x4", "EdsrBaseline-Paper-RGB-x4")]
    public string Case { get; set; } = "Espcn-Paper-Y-x2";

    /// <summary>Builds the network, its optimiser and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        ShortJobConfig.ApplyThreads();
        var benchCase = BenchCase.Parse(Case);
        _network = benchCase.Build();
        _step = new TrainStep(_network);
        const int batch = 16, hrPatch = 48;
        _lowRes = Measure.Random(13, batch, benchCase.ChannelCount, hrPatch / benchCase.Scale, hrPatch / benchCase.Scale);
        _highRes = Measure.Random(14, batch, benchCase.ChannelCount, hrPatch, hrPatch);
    }

    /// <summary>One step.</summary>
    [Benchmark]
    public float Step() => _step!.Run(_lowRes!, _highRes!);

    /// <summary>Frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _step?.Dispose();
        _network?.Dispose();
        _lowRes?.Dispose();
        _highRes?.Dispose();
    }
}
