using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// RealPLKSR, neosr's real-world variant of PLKSR (Lee, Yun, Ro, "Partial Large Kernel CNNs for Efficient
/// Super-Resolution", 2024): PLKSR's layout (a 3x3 convolution to D features, blocks, a 3x3 convolution to C s^2
/// channels plus the input repeated s^2 times per channel, a pixel shuffle) with <see cref="RealPlksrBlock"/>s (a DCCM
/// mixer with Mish, a 17x17 convolution of a quarter of the channels, element-wise attention, a 1x1 refinement and
/// group normalisation, plus the block's input), a <c>Dropout2d</c> before the last convolution (training only), and
/// optionally <see cref="DySample"/> instead of the pixel shuffle. traiNNer-redux's variant replaces the group
/// normalisation by a layer normalisation over the channels at the start of each block (<c>layer_norm</c>).
/// Keys follow muslll/neosr neosr/archs/realplksr_arch.py and arch_util.py (Apache-2.0), and for <c>layer_norm</c>
/// the-database/traiNNer-redux traiNNer/archs/realplksr_arch.py (Apache-2.0): <c>feats.0.*</c>,
/// <c>feats.{1..n}.channel_mixer.{0,2}.*</c>, <c>feats.{i}.lk.conv.*</c>, <c>feats.{i}.attn.f.0.*</c>,
/// <c>feats.{i}.refine.*</c>, <c>feats.{i}.norm.*</c> or <c>feats.{i}.layer_norm.*</c>, <c>feats.{n+2}.*</c> (n+1 is
/// the dropout), <c>to_img.*</c> with DySample. The default configuration has 7,389,680 parameters at x4.
/// Group normalisation makes every output pixel depend on the whole image (tiles are then an approximation).
/// </summary>
internal sealed class RealPlksr : SrNetwork
{
    private readonly Sequential feats;
    private readonly nn.Module<Tensor, Tensor> to_img;

    /// <summary>Builds RealPLKSR for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public RealPlksr(RealPlksrOptions options, int scale, int channels) : base(nameof(RealPlksr), scale, channels)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be at least 1.");
        long upscaled = (long)channels * scale * scale;
        var head = Layers.Conv(channels, options.Dim, 3);
        var tail = Layers.Conv(options.Dim, upscaled, 3);
        Initialization.TruncatedNormalWeight(head, 0.02);
        Initialization.TruncatedNormalWeight(tail, 0.02);
        var layers = new List<nn.Module<Tensor, Tensor>> { head };
        for (int i = 0; i < options.NumBlocks; i++)
            layers.Add(new RealPlksrBlock(options));
        layers.Add(nn.Dropout2d(options.Dropout));
        layers.Add(tail);
        feats = nn.Sequential(layers);
        // neosr: DySample only above x1; groups = out_ch for odd scales, else 4; always with its end convolution there.
        to_img = options.DySample && scale != 1
            ? new DySample(upscaled, channels, scale, scale % 2 != 0 ? channels : 4, endConvolution: true)
            : nn.PixelShuffle(scale);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = feats.forward(input).Plus(input.repeat_interleave((long)Scale * Scale, dim: 1));
        return to_img.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// RealPLKSR's block (<c>PLKBlock</c> of neosr's realplksr_arch.py; traiNNer-redux's with <c>layer_norm</c>):
/// <code>
///   x ──> [layer norm] ──> DCCM (3x3 D -> 2D, Mish, 3x3 2D -> D) ──> 17x17 conv of the first D·r channels
///     ──> element-wise attention ──> conv 1x1 ──> [group norm] ──(+)──> out
///   └──────────────────────────────────────────────────────────────────────────────────────────┘
/// </code>
/// Group normalisation without <c>layer_norm</c>, layer normalisation with it. Keys: <c>layer_norm.*</c>,
/// <c>channel_mixer.{0,2}.*</c>, <c>lk.conv.*</c>, <c>attn.f.0.*</c>, <c>refine.*</c>, <c>norm.*</c>.
/// </summary>
internal sealed class RealPlksrBlock : nn.Module<Tensor, Tensor>
{
    private readonly ChannelLayerNorm? layer_norm;
    private readonly Sequential channel_mixer;
    private readonly PartialLargeKernelConv lk;
    private readonly ElementwiseAttention? attn;
    private readonly nn.Module<Tensor, Tensor> refine;
    private readonly GroupNorm? norm;

    public RealPlksrBlock(RealPlksrOptions options) : base(nameof(RealPlksrBlock))
    {
        long dim = options.Dim;
        layer_norm = options.LayerNorm ? new ChannelLayerNorm(dim) : null;
        var mixerOut = Layers.Conv(dim * 2, dim, 3);
        Initialization.TruncatedNormalWeight(mixerOut, 0.02);
        channel_mixer = nn.Sequential(Layers.Conv(dim, dim * 2, 3), new MishActivation(), mixerOut);
        lk = new PartialLargeKernelConv(options.PartialChannels, options.KernelSize, withIdentity: false);
        attn = options.UseEa ? new ElementwiseAttention(dim) : null;
        refine = Layers.Conv(dim, dim, 1);
        Initialization.TruncatedNormalWeight(refine, 0.02);
        if (!options.LayerNorm)
        {
            // Weight 1, bias 0, as the reference sets them; TorchSharp 0.107's GroupNorm leaves both uninitialised (empty).
            norm = nn.GroupNorm(options.NormGroups, dim);
            using var noGrad = no_grad();
            nn.init.ones_(norm.weight!);
            nn.init.zeros_(norm.bias!);
        }

        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = layer_norm is null ? input : layer_norm.forward(input);
        x = lk.forward(channel_mixer.forward(x));
        if (attn is not null)
            x = attn.forward(x);
        x = refine.forward(x);
        if (norm is not null)
            x = norm.forward(x);
        return x.Plus(input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The layer normalisation over channels of traiNNer-redux's RealPLKSR (<c>LayerNorm</c> in its realplksr_arch.py):
/// per pixel, (x - mean_c) / sqrt(var_c + 1e-6) (the biased variance over the channels), then times <c>weight</c> and
/// plus <c>bias</c> per channel. A per-pixel operation: no dependence between pixels. Keys: <c>weight</c>, <c>bias</c>
/// [D] (ones and zeros at the start).
/// </summary>
internal sealed class ChannelLayerNorm : nn.Module<Tensor, Tensor>
{
    private const double Epsilon = 1e-6;

    private readonly Parameter weight;
    private readonly Parameter bias;

    public ChannelLayerNorm(long channels) : base(nameof(ChannelLayerNorm))
    {
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var centred = input.sub(input.mean([1L], keepdim: true));
        var variance = centred.mul(centred).mean([1L], keepdim: true);
        var normalised = centred.div(variance.Plus(ScalarSafe.Constant(Epsilon)).sqrt());
        return normalised.mul(weight.reshape(-1, 1, 1)).Plus(bias.reshape(-1, 1, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// RealPLKSR hyper-parameters, as neosr's <c>realplksr</c> constructor takes them, plus traiNNer-redux's
/// <c>layer_norm</c>. neosr's <c>in_ch</c> and <c>out_ch</c> are the network's channels (they must be equal there too).
/// </summary>
public sealed record RealPlksrOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.RealPlksr;

    /// <summary>Feature channels D (<c>dim</c>). Default 64.</summary>
    public int Dim { get; init; } = 64;

    /// <summary>Blocks (<c>n_blocks</c>). Default 28; neosr's realplksr_s 12.</summary>
    public int NumBlocks { get; init; } = 28;

    /// <summary>The large kernel's size (<c>kernel_size</c>; odd). Default 17; realplksr_s 13.</summary>
    public int KernelSize { get; init; } = 17;

    /// <summary>The share of channels the large kernel convolves (<c>split_ratio</c>; int(D * ratio) channels). Default 0.25.</summary>
    public double SplitRatio { get; init; } = 0.25;

    /// <summary>Element-wise attention in each block (<c>use_ea</c>). Default true; realplksr_s false.</summary>
    public bool UseEa { get; init; } = true;

    /// <summary>Groups of the group normalisation (<c>norm_groups</c>; must divide D). Default 4.</summary>
    public int NormGroups { get; init; } = 4;

    /// <summary>
    /// Probability of zeroing a whole channel before the last convolution while training (<c>dropout</c>,
    /// <c>Dropout2d</c>); none at inference. Default 0.
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>Upsample with <see cref="DySample"/> (and its end convolution) instead of a pixel shuffle (<c>dysample</c>). Default false.</summary>
    public bool DySample { get; init; }

    /// <summary>
    /// traiNNer-redux's <c>layer_norm</c>: a layer normalisation over the channels at the start of each block instead of
    /// the group normalisation at its end. Not in neosr; default false (traiNNer-redux's default is true).
    /// </summary>
    public bool LayerNorm { get; init; }

    /// <summary>The channels the large kernel convolves: int(D * split_ratio), as the reference truncates.</summary>
    internal int PartialChannels => (int)(Dim * SplitRatio);

    /// <summary>neosr's default RealPLKSR: D = 64, 28 blocks, 17x17 on a quarter, attention, 4 norm groups (7,389,680 parameters at x4).</summary>
    public static RealPlksrOptions Paper => new();

    /// <summary>neosr's realplksr_s: 12 blocks, 13x13 kernel, no attention.</summary>
    public static RealPlksrOptions Small => new() { NumBlocks = 12, KernelSize = 13, UseEa = false };

    /// <summary>A small RealPLKSR for CPU training: D = 32, 4 blocks, 13x13 kernel on 8 channels, attention, 4 norm groups.</summary>
    public static RealPlksrOptions Notes => new() { Dim = 32, NumBlocks = 4, KernelSize = 13 };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a configuration the reference cannot build or run.</summary>
    internal void Validate()
    {
        if (Dim < 1 || NumBlocks < 1)
            throw new ArgumentOutOfRangeException(nameof(Dim), $"RealPLKSR needs at least one feature channel and one block (Dim {Dim}, NumBlocks {NumBlocks}).");
        if (PartialChannels < 1 || PartialChannels > Dim)
            throw new ArgumentOutOfRangeException(nameof(SplitRatio), SplitRatio, $"The split ratio must select between 1 and {Dim} channels.");
        if (KernelSize < 1 || KernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(KernelSize), KernelSize, "The kernel size must be odd (an even one changes the image size).");
        if (!LayerNorm && (NormGroups < 1 || Dim % NormGroups != 0))
            throw new ArgumentOutOfRangeException(nameof(NormGroups), NormGroups, $"The norm groups must divide the {Dim} channels.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "The dropout probability must lie in [0, 1).");
    }
}

internal sealed class RealPlksrDescriptor : SrNetworkDescriptor<RealPlksrOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.RealPlksr;
    public override string Citation => "Lee, Yun, Ro: Partial Large Kernel CNNs for Efficient Super-Resolution, arXiv 2404.11848, 2024 (neosr's real-world variant)";
    public override string Reference => "muslll/neosr neosr/archs/realplksr_arch.py, arch_util.py (Apache-2.0); layer_norm: the-database/traiNNer-redux traiNNer/archs/realplksr_arch.py (Apache-2.0)";
    public override IReadOnlyList<int> Scales { get; } = [1, 2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override RealPlksrOptions Paper => RealPlksrOptions.Paper;
    protected override RealPlksrOptions Notes => RealPlksrOptions.Notes;
    protected override SrNetwork Create(RealPlksrOptions options, int scale, int channels) => new RealPlksr(options, scale, channels);

    /// <summary>spandrel's finding: group normalisation's activations overflow float16; the layer-norm variant runs.</summary>
    public override bool Float16Safe(SrNetworkOptions options) => options is RealPlksrOptions { LayerNorm: true };

    public override IReadOnlyList<string> MarkerKeys { get; } =
        ["feats.0.weight", "feats.1.channel_mixer.0.weight", "feats.1.lk.conv.weight", "feats.1.refine.weight", "feats.1.norm.weight", "to_img.init_pos"];

    /// <summary>
    /// <c>feats.{i}</c> blocks with <c>channel_mixer</c> (spandrel's RealPLKSR rule): D and the channels from
    /// <c>feats.0</c>, blocks from the <c>refine</c> convolutions (the dropout at <c>feats.{n+1}</c> has no keys, the
    /// last convolution is <c>feats.{n+2}</c>), scale from its outputs / channels, kernel and partial channels from
    /// <c>lk.conv</c> (split ratio (p + 0.5) / D), attention from <c>attn.f.0</c>, layer normalisation from
    /// <c>layer_norm</c>, DySample from <c>to_img.init_pos</c>. The group count of the normalisation is not stored:
    /// neosr's 4.
    /// </summary>
    public override Detection? Detect(StateDictShapes stateDict)
    {
        if (!stateDict.HasAll("feats.0.weight", "feats.1.channel_mixer.0.weight", "feats.1.lk.conv.weight", "feats.1.refine.weight"))
            return null;
        int dim = stateDict.Dim("feats.0.weight", 0), channels = stateDict.Dim("feats.0.weight", 1);
        int blocks = stateDict.Indices("feats.").Count(i => stateDict.Has($"feats.{i}.refine.weight"));
        int outputs = stateDict.Dim($"feats.{blocks + 2}.weight", 0);
        int scale = (int)Math.Round(Math.Sqrt(outputs / (double)channels));
        if (channels is not (1 or 3) || scale < 1 || channels * scale * scale != outputs)
            throw new InvalidDataException($"its RealPLKSR takes {channels} channels and ends with {outputs}: not channels x scale² for 1 or 3 channels");
        bool layerNorm = stateDict.Has("feats.1.layer_norm.weight"), dySample = stateDict.Has("to_img.init_pos");
        var options = new RealPlksrOptions
        {
            Dim = dim, NumBlocks = blocks, KernelSize = stateDict.Dim("feats.1.lk.conv.weight", 2),
            SplitRatio = (stateDict.Dim("feats.1.lk.conv.weight", 0) + 0.5) / dim, UseEa = stateDict.Has("feats.1.attn.f.0.weight"),
            LayerNorm = layerNorm, DySample = dySample,
        };
        var notes = layerNorm ? [] : new List<string> { "the group count of the normalisation is not stored in files: neosr's 4" };
        string variant = (layerNorm ? "traiNNer-redux layout with layer normalisation" : "neosr layout") + (dySample ? ", DySample" : "");
        return new Detection(options, scale, channels, variant, Notes: notes);
    }
}
