using BenchmarkDotNet.Attributes;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// Inference latency of one forward pass (eval mode, no gradients) on a random LR image, per network, preset and
/// scale. The LR side is 256 except for configurations whose 256x256 forward takes many seconds on 2 cores, which
/// use 128 or 64 (see <c>LowResSide</c>).
/// </summary>
[Config(typeof(ShortJobConfig))]
public class ForwardBenchmarks
{
    private SrNetwork? _network;
    private Tensor? _input;
    private Tensor? _channelsLastInput;

    /// <summary>The configurations measured (network, preset, channels; LR side).</summary>
    public static IEnumerable<string> Configurations =>
    [
        "Srcnn-Paper-Y", "Srcnn-Notes-RGB",
        "Fsrcnn-Paper-Y", "Fsrcnn-Notes-RGB",
        "Espcn-Paper-Y", "Espcn-Notes-RGB",
        "Vdsr-Notes-RGB",
        "EdsrBaseline-Notes-RGB", "EdsrBaseline-Paper-RGB",
        "Rcan-Notes-RGB",
        "Rdn-Notes-RGB",
        "SrResNet-Notes-RGB", "SrResNet-Paper-RGB",
        // Not measured: VDSR Paper (20 layers at the HR size: ~330 GFLOP for a 256x256 LR input at x2), EDSR Paper
        // (~43M parameters, over 3 TFLOP at 256x256), RCAN Paper (~15M parameters, ~1 TFLOP) and RDN Paper (~22M, ~1.4
        // TFLOP): tens of seconds to minutes per forward on 2 cores, even at 128x128 too long for a suite of 10
        // iterations. Measure one with TorchCompare (`network --case Rdn-Paper-RGB-x2`) when needed.
    ];

    /// <summary>Network, preset and channels, e.g. <c>Espcn-Paper-Y</c>.</summary>
    [ParamsSource(nameof(Configurations))]
    public string Network { get; set; } = "Espcn-Paper-Y";

    /// <summary>The upscaling factor.</summary>
    [Params(2, 4)]
    public int Scale { get; set; }

    /// <summary>Builds the network with seeded random weights and the input.</summary>
    [GlobalSetup]
    public void Setup()
    {
        ShortJobConfig.ApplyThreads();
        var benchCase = BenchCase.Parse($"{Network}-x{Scale}");
        benchCase = benchCase with { LowResSize = LowResSide(benchCase) };
        _network = benchCase.Build();
        _network.eval();
        _input = Measure.Random(11, 1, benchCase.ChannelCount, benchCase.LowResSize, benchCase.LowResSize);
        _channelsLastInput = MemoryLayout.ToChannelsLast(_input);
    }

    /// <summary>One forward pass, NCHW (the layout of the references and of training).</summary>
    [Benchmark(Baseline = true)]
    public void Forward() => Measure.Forward(_network!, _input!);

    /// <summary>One forward pass on a channels-last input: the layout SrUpscaler runs CPU inference in by default.</summary>
    [Benchmark]
    public void ForwardChannelsLast() => Measure.Forward(_network!, _channelsLastInput!);

    /// <summary>Frees the network and the input.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _network?.Dispose();
        _input?.Dispose();
        _channelsLastInput?.Dispose();
    }

    /// <summary>
    /// 256, or smaller where a 256x256 forward costs more than about 100 GFLOP of convolutions (about 2 s on 2 cores):
    /// networks that work at the HR size (VDSR at x2 ~156 GFLOP, so 64 at x4; SRCNN Paper at x4 ~120 GFLOP) or with
    /// many 64-feature layers on the LR grid (EDSR baseline, RCAN, RDN and SRResNet: 100-180 GFLOP).
    /// </summary>
    private static int LowResSide(BenchCase c) => c switch
    {
        { Architecture: SrArchitecture.Vdsr, Scale: > 2 } => BenchCase.ReducedLowResSize / 2,
        { Architecture: SrArchitecture.Vdsr } => BenchCase.ReducedLowResSize,
        { Architecture: SrArchitecture.Srcnn, Preset: SrPreset.Paper, Scale: > 2 } => BenchCase.ReducedLowResSize,
        { Architecture: SrArchitecture.EdsrBaseline or SrArchitecture.Rcan or SrArchitecture.Rdn or SrArchitecture.SrResNet }
            => BenchCase.ReducedLowResSize,
        _ => BenchCase.DefaultLowResSize,
    };
}
