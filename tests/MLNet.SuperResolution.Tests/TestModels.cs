using Microsoft.ML;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests;

/// <summary>Transformers around networks with seeded random weights: real networks, deterministic, nothing trained.</summary>
internal static class TestModels
{
    /// <summary>
    /// A "LowRes" -> "SuperRes" transformer for <paramref name="architecture"/> at <paramref name="preset"/>, its weights
    /// drawn after seeding torch with <paramref name="seed"/>, then passed to <paramref name="edit"/> when given.
    /// </summary>
    public static SuperResolutionTransformer Random(MLContext ml, SrArchitecture architecture, int scale, SrChannels channels, int seed,
        SrPreset preset = SrPreset.Notes, Action<SrNetwork>? edit = null)
    {
        random.manual_seed(seed);
        var options = SrModelZoo.Get(architecture).Options(preset);
        var network = architecture == SrArchitecture.Bicubic
            ? null
            : NetworkFactory.Create(architecture, scale, channels.NetworkChannels(), options);
        if (network is not null)
            edit?.Invoke(network);
        return new SuperResolutionTransformer(ml, "SuperRes", "LowRes", new SrUpscaler(architecture, scale, channels, network, CPU),
            options, "cpu", "cpu", trainingSummary: null);
    }
}
