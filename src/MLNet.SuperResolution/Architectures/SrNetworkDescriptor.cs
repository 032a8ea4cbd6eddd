namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// Describes and builds one architecture. Every concrete subclass in this assembly is registered by
/// <see cref="NetworkFactory"/> (found by reflection), so adding a network touches only its own file.
/// </summary>
internal abstract class SrNetworkDescriptor
{
    public abstract SrArchitecture Architecture { get; }

    /// <summary>The paper: authors, title, venue.</summary>
    public abstract string Citation { get; }

    /// <summary>The reference implementation whose state_dict keys the network follows (repository, file, licence).</summary>
    public abstract string Reference { get; }

    /// <summary>The scales the network supports.</summary>
    public abstract IReadOnlyList<int> Scales { get; }

    /// <summary>The channels the paper trained on (Y or RGB); Paper-preset parameter counts are reported for them.</summary>
    public abstract SrChannels PaperChannels { get; }

    /// <summary>The channels of the founding notes' configuration (RGB throughout the notes).</summary>
    public virtual SrChannels NotesChannels => SrChannels.Rgb;

    /// <summary>The channels a preset is described with.</summary>
    public SrChannels Channels(SrPreset preset) => preset == SrPreset.Notes ? NotesChannels : PaperChannels;

    /// <summary>The type of the network's options record.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>The options of a preset.</summary>
    public abstract SrNetworkOptions Options(SrPreset preset);

    /// <summary>Builds the network (arguments already validated by <see cref="NetworkFactory"/>).</summary>
    public abstract SrNetwork Create(SrNetworkOptions options, int scale, int channels);

    /// <summary>
    /// Keys that mark this architecture's layouts in a state_dict (of one layout or another): when no architecture
    /// recognises a file, the families whose marker keys it has most of are named as the closest. Empty for networks
    /// that are not detected from files.
    /// </summary>
    public virtual IReadOnlyList<string> MarkerKeys => [];

    /// <summary>
    /// Reads this architecture's options, scale and channels from a state_dict's keys and shapes; null when the keys
    /// are not one of its layouts. Throws <see cref="InvalidDataException"/> saying what does not fit when the layout is
    /// this architecture's but the configuration is one it cannot build.
    /// </summary>
    public virtual Detection? Detect(StateDictShapes stateDict) => null;

    /// <summary>
    /// Whether the network is known to run in float16 without overflowing (spandrel's <c>supports_half</c>): true unless
    /// a configuration is known not to. Informational: this library runs float32 or bfloat16.
    /// </summary>
    public virtual bool Float16Safe(SrNetworkOptions options) => true;
}

/// <summary>A descriptor with a typed options record.</summary>
internal abstract class SrNetworkDescriptor<TOptions> : SrNetworkDescriptor
    where TOptions : SrNetworkOptions
{
    public sealed override Type OptionsType => typeof(TOptions);

    public sealed override SrNetworkOptions Options(SrPreset preset) => preset == SrPreset.Notes ? Notes : Paper;

    public sealed override SrNetwork Create(SrNetworkOptions options, int scale, int channels) => Create((TOptions)options, scale, channels);

    /// <summary>The paper preset.</summary>
    protected abstract TOptions Paper { get; }

    /// <summary>The founding notes' preset.</summary>
    protected abstract TOptions Notes { get; }

    /// <summary>Builds the network.</summary>
    protected abstract SrNetwork Create(TOptions options, int scale, int channels);
}
