using System.Text.Json;
using MLNet.SuperResolution.Weights;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// Community model files detected from their keys and shapes alone, then run: every committed probe (made with the
/// official PyTorch code and random weights, build/make_community_probes.py) is recognised as its family with the
/// scale, channels and hyper-parameters it was made with, whatever its container, wrapper, key prefix and stored
/// dtype, and reproduces the official output to 1e-4.
/// </summary>
public sealed class CommunityDetectionTests(ITestOutputHelper output)
{
    public static TheoryData<string> Probes() => new(CommunityProbe.All.Select(p => p.Name));

    /// <summary>The official hyper-parameter names of each family, as the manifest records them, with our option's name.</summary>
    private static readonly Dictionary<string, string[]> OptionNames = new()
    {
        ["NumFeat"] = ["num_feat", "num_filters", "nf"],
        ["NumBlock"] = ["num_block", "num_blocks", "nb"],
        ["NumGrowCh"] = ["num_grow_ch", "gc"],
        ["NumConv"] = ["num_conv"],
        ["FeatureChannels"] = ["feature_channels"],
        ["Dim"] = ["dim"],
        ["NumBlocks"] = ["n_blocks"],
        ["KernelSize"] = ["kernel_size"],
    };

    [SkippableTheory]
    [MemberData(nameof(Probes))]
    public void EveryProbe_IsDetected_AndReproducesTheOfficialOutput(string name)
    {
        var probe = CommunityProbe.Named(name);
        Skip.IfNot(Enum.TryParse<SrArchitecture>(probe.Family, out var family), $"{probe.Family} is not an architecture of this build");
        var model = ModelDetection.Detect(WeightsFile.Open(probe.PathOf(probe.File)));
        output.WriteLine($"{name}: {model.Architecture} x{model.Scale}, {model.Channels} channel(s), {model.Detection.Variant}, {model.Options}");
        Assert.Equal(family, model.Architecture);
        Assert.Equal(probe.Scale, model.Scale);
        Assert.Equal(probe.OutChannels, model.Channels);
        foreach (var property in model.Options.GetType().GetProperties().Where(p => OptionNames.ContainsKey(p.Name)))
        {
            var official = OptionNames[property.Name].Select(n => probe.Hyper.TryGetProperty(n, out var v) ? v : (JsonElement?)null).FirstOrDefault(v => v is not null);
            if (official is { } value && value.ValueKind == JsonValueKind.Number)
                Assert.True(value.GetInt32() == (int)property.GetValue(model.Options)!, $"{property.Name}: file {value.GetInt32()}, detected {property.GetValue(model.Options)}");
        }

        using var scope = NewDisposeScope();
        using var network = model.CreateNetwork();
        using var noGrad = no_grad();
        var input = Npy.Load(probe.PathOf(probe.Input));
        var expected = Npy.Load(probe.PathOf(probe.Output));
        var actual = network.forward(input);
        Assert.Equal(expected.shape, actual.shape);
        double error = (actual - expected).abs().max().item<float>();
        output.WriteLine($"max abs error vs official: {error:E2} (output range {expected.min().item<float>():F2}..{expected.max().item<float>():F2})");
        Assert.True(error < 1e-4, $"{name}: differs from the official output by {error:E2}");
    }
}
