using MLNet.SuperResolution.Architectures;
using TorchSharp;

namespace MLNet.SuperResolution;

/// <summary>The networks this library offers, with their papers, reference implementations, scales and presets.</summary>
public static class SrModelZoo
{
    /// <summary>Every architecture, in <see cref="SrArchitecture"/> order.</summary>
    public static IReadOnlyList<SrModelInfo> Models { get; } = NetworkFactory.All.Select(d => new SrModelInfo(d)).ToArray();

    /// <summary>The description of one architecture.</summary>
    public static SrModelInfo Get(SrArchitecture architecture) => Models.Single(m => m.Architecture == architecture);
}

/// <summary>One architecture of the <see cref="SrModelZoo"/>.</summary>
public sealed class SrModelInfo
{
    private readonly SrNetworkDescriptor _descriptor;

    internal SrModelInfo(SrNetworkDescriptor descriptor) => _descriptor = descriptor;

    /// <summary>The architecture.</summary>
    public SrArchitecture Architecture => _descriptor.Architecture;

    /// <summary>Authors, title and venue of the paper.</summary>
    public string Paper => _descriptor.Citation;

    /// <summary>The reference implementation whose state_dict keys the network follows (repository, file, licence).</summary>
    public string Reference => _descriptor.Reference;

    /// <summary>Supported upscaling factors.</summary>
    public IReadOnlyList<int> Scales => _descriptor.Scales;

    /// <summary>The channels the paper trained on.</summary>
    public SrChannels PaperChannels => _descriptor.PaperChannels;

    /// <summary>The channels a preset was trained on (the paper's for Paper, RGB for the founding notes' Notes).</summary>
    public SrChannels Channels(SrPreset preset) => _descriptor.Channels(preset);

    /// <summary>The hyper-parameters of a preset (a record: copy it with <c>with { ... }</c> to customise).</summary>
    public SrNetworkOptions Options(SrPreset preset) => _descriptor.Options(preset);

    /// <summary>
    /// Trainable parameters of the network for a scale, preset and channels (default: the preset's channels). Builds
    /// the network on the CPU to count, so it takes a moment for the largest networks.
    /// </summary>
    public long ParameterCount(int scale, SrPreset preset = SrPreset.Paper, SrChannels? channels = null)
    {
        int count = (channels ?? Channels(preset)).NetworkChannels();
        using var network = NetworkFactory.Create(Architecture, scale, count, Options(preset));
        return network.TrainableParameterCount;
    }
}
