using MLNet.SuperResolution.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// One network configuration to measure: architecture, preset, channels, scale and the side of the square LR input
/// of the forward measurement.
/// </summary>
internal sealed record BenchCase(SrArchitecture Architecture, SrPreset Preset, SrChannels Channels, int Scale, int LowResSize)
{
    /// <summary>The LR side used when a 256x256 forward would take more than about 2 s on 2 cores.</summary>
    public const int ReducedLowResSize = 128;

    /// <summary>The default LR side of forward measurements (the issue's 256x256).</summary>
    public const int DefaultLowResSize = 256;

    /// <summary>A stable name, e.g. <c>Espcn-Paper-Y-x2</c>.</summary>
    public string Name => $"{Architecture}-{Preset}-{(Channels == SrChannels.Y ? "Y" : "RGB")}-x{Scale}";

    /// <summary>1 (Y) or 3 (RGB).</summary>
    public int ChannelCount => Channels.NetworkChannels();

    /// <summary>Builds the network with torch seeded by <paramref name="seed"/> (the library's own initialisation).</summary>
    public SrNetwork Build(int seed = 1)
    {
        random.manual_seed(seed);
        return NetworkFactory.Create(Architecture, Scale, ChannelCount, NetworkFactory.ResolveOptions(Architecture, Preset, null));
    }

    /// <summary>
    /// The networks build/compare-pytorch.sh compares with PyTorch. The LR side is 256 except where one 256x256 forward
    /// costs more than about 100 GFLOP of convolutions (over 2 s on the 2-core development machine at its 40-90
    /// GFLOP/s): those run at 128x128 (a quarter of the work), and the compare script prints the side it used.
    /// </summary>
    public static IReadOnlyList<BenchCase> CompareSet { get; } =
    [
        new(SrArchitecture.Srcnn, SrPreset.Paper, SrChannels.Y, 2, DefaultLowResSize),        // ~30 GFLOP at 256
        new(SrArchitecture.Fsrcnn, SrPreset.Paper, SrChannels.Y, 2, DefaultLowResSize),       // ~1.6 GFLOP
        new(SrArchitecture.Fsrcnn, SrPreset.Paper, SrChannels.Y, 4, DefaultLowResSize),       // the 1-channel stride-4 transposed conv
        new(SrArchitecture.Espcn, SrPreset.Paper, SrChannels.Y, 2, DefaultLowResSize),        // ~2.8 GFLOP
        new(SrArchitecture.Espcn, SrPreset.Paper, SrChannels.Y, 4, DefaultLowResSize),
        new(SrArchitecture.Vdsr, SrPreset.Notes, SrChannels.Rgb, 2, ReducedLowResSize),       // ~156 GFLOP at 256
        new(SrArchitecture.EdsrBaseline, SrPreset.Paper, SrChannels.Rgb, 2, ReducedLowResSize), // ~180 GFLOP at 256
        new(SrArchitecture.Rcan, SrPreset.Notes, SrChannels.Rgb, 2, ReducedLowResSize),       // ~130 GFLOP at 256
        new(SrArchitecture.Rdn, SrPreset.Notes, SrChannels.Rgb, 2, ReducedLowResSize),        // ~106 GFLOP at 256
        new(SrArchitecture.SrResNet, SrPreset.Notes, SrChannels.Rgb, 2, ReducedLowResSize),   // ~112 GFLOP at 256
        // Community networks (the official code on the PyTorch side, build/compare_pytorch.py): RealESRGAN_x4plus's
        // configuration (~2.4 TFLOP at 256: seconds a forward on a 2-core CPU; run it with --reps 3) and realesr-general-x4v3's.
        new(SrArchitecture.Esrgan, SrPreset.Paper, SrChannels.Rgb, 4, DefaultLowResSize),
        new(SrArchitecture.Compact, SrPreset.Paper, SrChannels.Rgb, 4, DefaultLowResSize),     // ~160 GFLOP at 256
    ];

    /// <summary>The networks of the pipeline measurement (ML.NET Transform + read vs the raw forward).</summary>
    public static IReadOnlyList<BenchCase> PipelineSet { get; } =
    [
        new(SrArchitecture.Espcn, SrPreset.Notes, SrChannels.Rgb, 2, DefaultLowResSize),
        new(SrArchitecture.Espcn, SrPreset.Paper, SrChannels.Y, 2, DefaultLowResSize),
    ];

    /// <summary>Finds a case of <see cref="CompareSet"/> or <see cref="PipelineSet"/> by <see cref="Name"/>, or parses one ("Rdn-Paper-RGB-x4", LR side 256).</summary>
    public static BenchCase Parse(string name)
    {
        var known = CompareSet.Concat(PipelineSet).FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        if (known is not null)
            return known;
        var parts = name.Split('-');
        if (parts.Length != 4 || !parts[3].StartsWith('x')
            || !Enum.TryParse<SrArchitecture>(parts[0], ignoreCase: true, out var architecture)
            || !Enum.TryParse<SrPreset>(parts[1], ignoreCase: true, out var preset)
            || !Enum.TryParse<SrChannels>(parts[2], ignoreCase: true, out var channels)
            || !int.TryParse(parts[3].AsSpan(1), out int scale))
            throw new ArgumentException($"'{name}' is not a case name like Espcn-Paper-Y-x2 (architecture-preset-channels-xscale).", nameof(name));
        return new BenchCase(architecture, preset, channels, scale, DefaultLowResSize);
    }
}
