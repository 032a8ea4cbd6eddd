using System.Text.Json;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// The registry of architectures: every <see cref="SrNetworkDescriptor"/> subclass of this assembly, found once by
/// reflection. Validates scale, channels and options, and builds networks.
/// </summary>
internal static class NetworkFactory
{
    private static readonly Lazy<IReadOnlyDictionary<SrArchitecture, SrNetworkDescriptor>> Registry = new(Discover);

    /// <summary>All registered architectures, in enum order.</summary>
    public static IEnumerable<SrNetworkDescriptor> All => Registry.Value.Values.OrderBy(d => d.Architecture);

    /// <summary>The descriptor of an architecture.</summary>
    public static SrNetworkDescriptor Describe(SrArchitecture architecture)
        => Registry.Value.TryGetValue(architecture, out var descriptor)
            ? descriptor
            : throw new ArgumentException($"Unknown architecture {architecture}.", nameof(architecture));

    /// <summary>The scales an architecture supports (e.g. 2, 3, 4).</summary>
    public static IReadOnlyList<int> SupportedScales(SrArchitecture architecture) => Describe(architecture).Scales;

    /// <summary>
    /// Builds <paramref name="architecture"/> for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y,
    /// 3 = RGB) with <paramref name="options"/> (default: the paper preset), initialised by the framework's defaults
    /// (seed torch first for determinism). Throws <see cref="ArgumentException"/> naming what is supported.
    /// </summary>
    public static SrNetwork Create(SrArchitecture architecture, int scale, int channels, SrNetworkOptions? options = null)
    {
        Inference.TorchBackend.EnsureLoaded();
        Inference.NativeHeap.AdaptThresholds(); // once per process: glibc's heap thresholds as after any large free
        var descriptor = Describe(architecture);
        if (!descriptor.Scales.Contains(scale))
        {
            throw new ArgumentException(
                $"{architecture} does not support scale {scale}; supported scales: {string.Join(", ", descriptor.Scales)}.",
                nameof(scale));
        }

        if (channels is not (1 or 3))
        {
            throw new ArgumentException(
                $"{architecture} does not support {channels} channels; supported: 1 (Y) or 3 (RGB).",
                nameof(channels));
        }

        options ??= descriptor.Options(SrPreset.Paper);
        if (options.GetType() != descriptor.OptionsType)
        {
            throw new ArgumentException(
                $"{architecture} takes {descriptor.OptionsType.Name}, but {options.GetType().Name} was given (for {options.Architecture}).",
                nameof(options));
        }

        var network = descriptor.Create(options, scale, channels);
        var sameOptions = options;
        network.Rebuild = () => descriptor.Create(sameOptions, scale, channels);
        return network;
    }

    /// <summary>
    /// The options to build with: <paramref name="custom"/> when given (it must be for <paramref name="architecture"/>),
    /// else the <paramref name="preset"/>'s.
    /// </summary>
    public static SrNetworkOptions ResolveOptions(SrArchitecture architecture, SrPreset preset, SrNetworkOptions? custom)
    {
        var descriptor = Describe(architecture);
        if (custom is null)
            return descriptor.Options(preset);
        if (custom.GetType() != descriptor.OptionsType)
            throw new ArgumentException(
                $"NetworkOptions is a {custom.GetType().Name} (for {custom.Architecture}) but Architecture is {architecture}, which takes {descriptor.OptionsType.Name}.",
                nameof(custom));
        return custom;
    }

    /// <summary>Options as JSON (for model files).</summary>
    public static string SerializeOptions(SrNetworkOptions options) => JsonSerializer.Serialize(options, options.GetType());

    /// <summary>Options from JSON written by <see cref="SerializeOptions"/>.</summary>
    public static SrNetworkOptions DeserializeOptions(SrArchitecture architecture, string json)
        => (SrNetworkOptions?)JsonSerializer.Deserialize(json, Describe(architecture).OptionsType)
           ?? throw new InvalidDataException($"The {architecture} options in the model are empty.");

    private static IReadOnlyDictionary<SrArchitecture, SrNetworkDescriptor> Discover()
    {
        var result = new Dictionary<SrArchitecture, SrNetworkDescriptor>();
        foreach (var type in typeof(NetworkFactory).Assembly.GetTypes())
        {
            if (type.IsAbstract || !typeof(SrNetworkDescriptor).IsAssignableFrom(type))
                continue;
            var descriptor = (SrNetworkDescriptor)Activator.CreateInstance(type, nonPublic: true)!;
            if (!result.TryAdd(descriptor.Architecture, descriptor))
                throw new InvalidOperationException($"Two descriptors for {descriptor.Architecture}: {result[descriptor.Architecture].GetType().Name} and {type.Name}.");
        }

        return result;
    }
}
