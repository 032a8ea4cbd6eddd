namespace MLNet.SuperResolution.Architectures;

/// <summary>Builds the network for an <see cref="SrArchitecture"/>. STUB: to be implemented (Architectures helper).</summary>
internal static class NetworkFactory
{
    /// <summary>The scales an architecture supports (e.g. 2, 3, 4).</summary>
    public static IReadOnlyList<int> SupportedScales(SrArchitecture architecture) => throw new NotImplementedException();

    /// <summary>
    /// Builds the paper configuration of <paramref name="architecture"/> for <paramref name="scale"/> and
    /// <paramref name="channels"/> (1 = Y, 3 = RGB), with the framework's default initialisation (seed torch first
    /// for determinism). Throws <see cref="ArgumentException"/> naming the supported scales when unsupported.
    /// </summary>
    public static SrNetwork Create(SrArchitecture architecture, int scale, int channels) => throw new NotImplementedException();
}
