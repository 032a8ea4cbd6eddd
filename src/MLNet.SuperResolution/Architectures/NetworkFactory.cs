namespace MLNet.SuperResolution.Architectures;

/// <summary>Builds the network for an <see cref="SrArchitecture"/> (paper configurations).</summary>
internal static class NetworkFactory
{
    private static readonly IReadOnlyList<int> TwoToFour = [2, 3, 4];

    /// <summary>The scales an architecture supports (e.g. 2, 3, 4).</summary>
    public static IReadOnlyList<int> SupportedScales(SrArchitecture architecture) => architecture switch
    {
        SrArchitecture.Bicubic or SrArchitecture.Srcnn or SrArchitecture.Fsrcnn or SrArchitecture.Espcn => TwoToFour,
        _ => throw new ArgumentException($"Unknown architecture {architecture}.", nameof(architecture)),
    };

    /// <summary>
    /// Builds the paper configuration of <paramref name="architecture"/> for <paramref name="scale"/> and
    /// <paramref name="channels"/> (1 = Y, 3 = RGB), with the framework's default initialisation (seed torch first
    /// for determinism). Throws <see cref="ArgumentException"/> naming the supported scales when unsupported.
    /// </summary>
    public static SrNetwork Create(SrArchitecture architecture, int scale, int channels)
    {
        var scales = SupportedScales(architecture);
        if (!scales.Contains(scale))
        {
            throw new ArgumentException(
                $"{architecture} does not support scale {scale}; supported scales: {string.Join(", ", scales)}.",
                nameof(scale));
        }

        if (channels is not (1 or 3))
        {
            throw new ArgumentException(
                $"{architecture} does not support {channels} channels; supported: 1 (Y) or 3 (RGB).",
                nameof(channels));
        }

        return architecture switch
        {
            SrArchitecture.Bicubic => new BicubicNetwork(scale, channels),
            SrArchitecture.Srcnn => new Srcnn(scale, channels),
            SrArchitecture.Fsrcnn => new Fsrcnn(scale, channels),
            SrArchitecture.Espcn => new Espcn(scale, channels),
            _ => throw new ArgumentException($"Unknown architecture {architecture}.", nameof(architecture)),
        };
    }
}
