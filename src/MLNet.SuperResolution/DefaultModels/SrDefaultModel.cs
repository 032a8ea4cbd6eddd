using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Weights;

namespace MLNet.SuperResolution;

/// <summary>
/// The weights embedded in the library, used when no model is given:
/// <c>ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2)</c>, <see cref="SuperResolutionUpscaler.FromDefaultModel"/>
/// and <c>sr upscale</c> without <c>--model</c>. An EDSR network (baseline form) with 32 features and 8 residual blocks
/// on RGB, trained on BSD100 with the protocol's bicubic degradation. <see cref="Scales"/> lists the scales this build
/// embeds; the project's documentation records how each was trained and its Set5/Set14 results.
/// </summary>
public static class SrDefaultModel
{
    private const string ResourcePrefix = "MLNet.SuperResolution.DefaultModels.edsr-default-x";

    /// <summary>The network of the default weights.</summary>
    public static SrArchitecture Architecture => SrArchitecture.EdsrBaseline;

    /// <summary>The default network's hyper-parameters: EDSR baseline with <c>NumFeat = 32</c>, <c>NumBlock = 8</c>.</summary>
    public static EdsrBaselineOptions NetworkOptions => EdsrBaselineOptions.Paper with { NumFeat = 32, NumBlock = 8 };

    /// <summary>The default network sees RGB.</summary>
    public static SrChannels Channels => SrChannels.Rgb;

    /// <summary>The scales that have embedded weights.</summary>
    public static IReadOnlyList<int> Scales { get; } = FindScales();

    /// <summary>Builds the default network for <paramref name="scale"/> with its embedded weights.</summary>
    internal static SrNetwork CreateNetwork(int scale)
    {
        if (!Scales.Contains(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale,
                $"No default weights for x{scale}; they exist for {(Scales.Count == 0 ? "no scale" : string.Join(", ", Scales.Select(s => "x" + s)))}. " +
                "Pass a model (ApplySuperResolutionModel with an architecture and weights, or a model zip).");
        string name = ResourcePrefix + scale + ".safetensors";
        using var stream = typeof(SrDefaultModel).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing from {typeof(SrDefaultModel).Assembly.GetName().Name}.");
        var network = NetworkFactory.Create(Architecture, scale, 3, NetworkOptions);
        try
        {
            PyTorchWeights.Load(network, stream, $"embedded default weights x{scale}", skipMismatched: false);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static int[] FindScales()
    {
        var names = typeof(SrDefaultModel).Assembly.GetManifestResourceNames();
        return names.Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".safetensors", StringComparison.Ordinal))
            .Select(n => int.TryParse(n[ResourcePrefix.Length..^".safetensors".Length], out int s) ? s : 0)
            .Where(s => s > 0).Order().ToArray();
    }
}
