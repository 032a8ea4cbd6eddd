using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// PLKSR: Dongheon Lee, Seokju Yun, Youngmin Ro, "Partial Large Kernel CNNs for Efficient Super-Resolution", 2024
/// (arXiv 2404.11848). A 3x3 convolution to D features, <see cref="PlksrBlock"/>s (a channel mixer, a large kernel on
/// the first D * split_ratio channels, element-wise attention, a 1x1 refinement, plus the block's input), a 3x3
/// convolution to C s^2 channels plus the input repeated s^2 times per channel (<c>repeat_interleave</c>), and a pixel
/// shuffle. No normalisation, no global operation. Keys follow dslisleedh/PLKSR plksr/archs/plksr_arch.py (MIT):
/// <c>feats.0.*</c>, <c>feats.{1..n}.channe_mixer.{0,2}.*</c> (the reference's spelling), <c>feats.{i}.lk.conv.*</c>
/// (or <c>lk.convs.{j}.*</c>, <c>lk.{mn,nm,nn}_conv.*</c> for the sparse kernels), <c>feats.{i}.attn.f.0.*</c>,
/// <c>feats.{i}.refine.*</c>, <c>feats.{n+1}.*</c>. The published PLKSR (D = 64, 28 blocks, DCCM, 17x17 on a quarter
/// of the channels) has 7,386,096 parameters at x4; PLKSR-tiny (12 blocks, 13x13, no attention) 2,370,544.
/// </summary>
internal sealed class Plksr : SrNetwork
{
    private readonly Sequential feats;
    private readonly PixelShuffle to_img;

    /// <summary>Builds PLKSR for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB; the reference is RGB only).</summary>
    public Plksr(PlksrOptions options, int scale, int channels) : base(nameof(Plksr), scale, channels)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be at least 1.");
        var head = Layers.Conv(channels, options.Dim, 3);
        var tail = Layers.Conv(options.Dim, (long)channels * scale * scale, 3);
        Initialization.TruncatedNormalWeight(head, 0.02);
        Initialization.TruncatedNormalWeight(tail, 0.02);
        var layers = new List<nn.Module<Tensor, Tensor>> { head };
        for (int i = 0; i < options.NumBlocks; i++)
            layers.Add(new PlksrBlock(options));
        layers.Add(tail);
        feats = nn.Sequential(layers);
        to_img = nn.PixelShuffle(scale);
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
/// PLKSR's block (<c>PLKBlock</c>, dslisleedh/PLKSR plksr/archs/plksr_arch.py):
/// <code>
///   x ──> channel mixer ──> large kernel (first D·r channels) ──> element-wise attention ──> conv 1x1 ──(+)──> out
///   └─────────────────────────────────────────────────────────────────────────────────────────┘
/// </code>
/// The channel mixer is CCM (3x3 D -> 2D, GELU, 1x1 2D -> D), ICCM (1x1, GELU, 3x3) or DCCM (3x3, GELU, 3x3). Keys:
/// <c>channe_mixer.{0,2}.*</c>, <c>lk.*</c>, <c>attn.f.0.*</c> (with attention), <c>refine.*</c>. The mixer's last
/// convolution, the large kernels and <c>refine</c> start as trunc_normal(std 0.02), as in the reference.
/// </summary>
internal sealed class PlksrBlock : nn.Module<Tensor, Tensor>
{
    private readonly Sequential channe_mixer;
    private readonly nn.Module<Tensor, Tensor> lk;
    private readonly ElementwiseAttention? attn;
    private readonly nn.Module<Tensor, Tensor> refine;

    public PlksrBlock(PlksrOptions options) : base(nameof(PlksrBlock))
    {
        long dim = options.Dim;
        var (first, second) = options.ChannelMixer switch
        {
            PlksrChannelMixer.Ccm => (3L, 1L),
            PlksrChannelMixer.Iccm => (1L, 3L),
            PlksrChannelMixer.Dccm => (3L, 3L),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.ChannelMixer, "Unknown channel mixer."),
        };
        var mixerOut = Layers.Conv(dim * 2, dim, second);
        Initialization.TruncatedNormalWeight(mixerOut, 0.02);
        channe_mixer = nn.Sequential(Layers.Conv(dim, dim * 2, first), nn.GELU(), mixerOut);

        long partial = options.PartialChannels;
        lk = options.LargeKernel switch
        {
            PlksrLargeKernel.Plk => new PartialLargeKernelConv(partial, options.KernelSize, options.WithIdentity),
            PlksrLargeKernel.SparsePlk => new SparsePartialLargeKernelConv(partial, options),
            PlksrLargeKernel.RectSparsePlk => new RectangularSparsePartialLargeKernelConv(partial, options.KernelSize),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.LargeKernel, "Unknown large-kernel type."),
        };
        attn = options.UseEa ? new ElementwiseAttention(dim) : null;
        refine = Layers.Conv(dim, dim, 1);
        Initialization.TruncatedNormalWeight(refine, 0.02);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = lk.forward(channe_mixer.forward(input));
        if (attn is not null)
            x = attn.forward(x);
        return refine.forward(x).Plus(input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PLKSR's <c>SparsePLKConv2d</c> (RepLKNet / UniRepLKNet style, an ablation of the reference): on the first
/// <c>idx</c> channels, the sum of dilated k_j x k_j convolutions (dilation d_j, "same" padding (k_j / 2) d_j), plus
/// with <c>use_max_kernel</c> a dense convolution of the largest equivalent kernel max(kernel_size, (k_j - 1) d_j + 1),
/// plus with <c>with_idt</c> the input. The reference computes this in both modes (its <c>convert</c> folds it into one
/// <c>lk.conv</c> kernel, which then loads as <see cref="PlksrLargeKernel.Plk"/> without identity). Keys:
/// <c>convs.{j}.*</c>, the largest last.
/// </summary>
internal sealed class SparsePartialLargeKernelConv : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> convs;
    private readonly long _channels;
    private readonly bool _withIdentity;

    public SparsePartialLargeKernelConv(long channels, PlksrOptions options) : base(nameof(SparsePartialLargeKernelConv))
    {
        _channels = channels;
        _withIdentity = options.WithIdentity;
        int count = Math.Min(options.SparseKernels.Count, options.SparseDilations.Count); // the reference zips the two lists
        long maxKernel = options.KernelSize;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        for (int j = 0; j < count; j++)
        {
            long k = options.SparseKernels[j], d = options.SparseDilations[j];
            maxKernel = Math.Max(maxKernel, (k - 1) * d + 1);
            layers.Add(ChannelPaddedConv2d.Create(channels, channels, (k, k), (k / 2 * d, k / 2 * d), (d, d)));
        }

        if (options.UseMaxKernel)
            layers.Add(Layers.Conv(channels, channels, maxKernel));
        foreach (var layer in layers)
            Initialization.TruncatedNormalWeight(layer, 0.02);
        convs = nn.ModuleList(layers.ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return PartialLargeKernelConv.Apply(input, _channels, x1 =>
        {
            Tensor? sum = _withIdentity ? x1 : null;
            foreach (var conv in convs)
                sum = sum is null ? conv.forward(x1) : sum.Plus(conv.forward(x1));
            return sum!;
        }).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// PLKSR's <c>RectSparsePLKConv2d</c> (SLaK style, an ablation of the reference): on the first <c>idx</c> channels,
/// m x n + n x m + n x n convolutions with m = kernel_size, n = m / 3 (integer division), "same" padding. No identity
/// option. Keys: <c>mn_conv.*</c>, <c>nm_conv.*</c>, <c>nn_conv.*</c>.
/// </summary>
internal sealed class RectangularSparsePartialLargeKernelConv : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> mn_conv;
    private readonly nn.Module<Tensor, Tensor> nm_conv;
    private readonly nn.Module<Tensor, Tensor> nn_conv;
    private readonly long _channels;

    public RectangularSparsePartialLargeKernelConv(long channels, long kernelSize) : base(nameof(RectangularSparsePartialLargeKernelConv))
    {
        _channels = channels;
        long m = kernelSize, n = kernelSize / 3;
        mn_conv = ChannelPaddedConv2d.Create(channels, channels, (m, n), (m / 2, n / 2), (1, 1));
        nm_conv = ChannelPaddedConv2d.Create(channels, channels, (n, m), (n / 2, m / 2), (1, 1));
        nn_conv = ChannelPaddedConv2d.Create(channels, channels, (n, n), (n / 2, n / 2), (1, 1));
        foreach (var conv in new[] { mn_conv, nm_conv, nn_conv })
            Initialization.TruncatedNormalWeight(conv, 0.02);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return PartialLargeKernelConv.Apply(input, _channels,
            x1 => mn_conv.forward(x1).Plus(nm_conv.forward(x1)).Plus(nn_conv.forward(x1))).MoveToOuterDisposeScope();
    }
}

/// <summary>PLKSR's channel mixer (<c>ccm_type</c>).</summary>
public enum PlksrChannelMixer
{
    /// <summary>CCM: 3x3 D -> 2D, GELU, 1x1 2D -> D.</summary>
    Ccm = 0,

    /// <summary>ICCM (inverted): 1x1 D -> 2D, GELU, 3x3 2D -> D.</summary>
    Iccm = 1,

    /// <summary>DCCM (doubled), the published models': 3x3 D -> 2D, GELU, 3x3 2D -> D.</summary>
    Dccm = 2,
}

/// <summary>PLKSR's large-kernel layer (<c>lk_type</c>).</summary>
public enum PlksrLargeKernel
{
    /// <summary>PLK, the published models': one kernel_size x kernel_size convolution of the first channels.</summary>
    Plk = 0,

    /// <summary>SparsePLK (an ablation): dilated sparse kernels, optionally a dense largest kernel.</summary>
    SparsePlk = 1,

    /// <summary>RectSparsePLK (an ablation): m x m/3, m/3 x m and m/3 x m/3 kernels.</summary>
    RectSparsePlk = 2,
}

/// <summary>
/// PLKSR hyper-parameters, as dslisleedh/PLKSR's <c>PLKSR</c> constructor takes them (its <c>is_coreml</c> only changes
/// how the repetition is computed, not the result, and is not needed here).
/// </summary>
public sealed record PlksrOptions : SrNetworkOptions
{
    private IReadOnlyList<int> _sparseKernels = [5, 5, 5, 5];
    private IReadOnlyList<int> _sparseDilations = [1, 2, 3, 4];

    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Plksr;

    /// <summary>Feature channels D (<c>dim</c>). Paper 64.</summary>
    public int Dim { get; init; } = 64;

    /// <summary>Blocks (<c>n_blocks</c>). Paper 28; PLKSR-tiny 12.</summary>
    public int NumBlocks { get; init; } = 28;

    /// <summary>The channel mixer (<c>ccm_type</c>). Paper DCCM.</summary>
    public PlksrChannelMixer ChannelMixer { get; init; } = PlksrChannelMixer.Dccm;

    /// <summary>The large kernel's size (<c>kernel_size</c>; odd). Paper 17; PLKSR-tiny 13.</summary>
    public int KernelSize { get; init; } = 17;

    /// <summary>The share of channels the large kernel convolves (<c>split_ratio</c>; int(D * ratio) channels). Paper 0.25.</summary>
    public double SplitRatio { get; init; } = 0.25;

    /// <summary>The large-kernel layer (<c>lk_type</c>). Paper PLK.</summary>
    public PlksrLargeKernel LargeKernel { get; init; } = PlksrLargeKernel.Plk;

    /// <summary>SparsePLK only: add a dense convolution of the largest equivalent kernel (<c>use_max_kernel</c>). Default false.</summary>
    public bool UseMaxKernel { get; init; }

    /// <summary>SparsePLK only: the sparse kernels' sizes (<c>sparse_kernels</c>; odd). Default 5, 5, 5, 5.</summary>
    public IReadOnlyList<int> SparseKernels { get => _sparseKernels; init => _sparseKernels = [.. value]; }

    /// <summary>SparsePLK only: their dilations (<c>sparse_dilations</c>), paired with the kernels. Default 1, 2, 3, 4.</summary>
    public IReadOnlyList<int> SparseDilations { get => _sparseDilations; init => _sparseDilations = [.. value]; }

    /// <summary>PLK and SparsePLK: add the input to the large kernel's output (<c>with_idt</c>). Paper false.</summary>
    public bool WithIdentity { get; init; }

    /// <summary>Element-wise attention in each block (<c>use_ea</c>). Paper true; PLKSR-tiny false.</summary>
    public bool UseEa { get; init; } = true;

    /// <summary>The channels the large kernel convolves: int(D * split_ratio), as the reference truncates.</summary>
    internal int PartialChannels => (int)(Dim * SplitRatio);

    /// <summary>The published PLKSR (DIV2K, x2-x4): D = 64, 28 DCCM blocks, 17x17 PLK on a quarter, attention (7,386,096 parameters at x4).</summary>
    public static PlksrOptions Paper => new();

    /// <summary>The published PLKSR-tiny (DIV2K and DF2K): 12 blocks, 13x13 kernel, no attention (2,370,544 parameters at x4).</summary>
    public static PlksrOptions Tiny => new() { NumBlocks = 12, KernelSize = 13, UseEa = false };

    /// <summary>A small PLKSR for CPU training: D = 32, 4 blocks, 13x13 kernel on 8 channels, attention.</summary>
    public static PlksrOptions Notes => new() { Dim = 32, NumBlocks = 4, KernelSize = 13 };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a configuration the reference cannot build or run.</summary>
    internal void Validate()
    {
        if (Dim < 1 || NumBlocks < 1)
            throw new ArgumentOutOfRangeException(nameof(Dim), $"PLKSR needs at least one feature channel and one block (Dim {Dim}, NumBlocks {NumBlocks}).");
        if (PartialChannels < 1 || PartialChannels > Dim)
            throw new ArgumentOutOfRangeException(nameof(SplitRatio), SplitRatio, $"The split ratio must select between 1 and {Dim} channels.");
        if (KernelSize < 1 || KernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(KernelSize), KernelSize, "The kernel size must be odd (an even one changes the image size).");
        if (LargeKernel == PlksrLargeKernel.RectSparsePlk && (KernelSize / 3) % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(KernelSize), KernelSize, "RectSparsePLK needs an odd kernel_size / 3 (an even one changes the image size).");
        if (LargeKernel == PlksrLargeKernel.SparsePlk)
        {
            int count = Math.Min(SparseKernels.Count, SparseDilations.Count);
            if (count == 0 && !UseMaxKernel)
                throw new ArgumentOutOfRangeException(nameof(SparseKernels), "SparsePLK needs at least one kernel.");
            for (int j = 0; j < count; j++)
                if (SparseKernels[j] < 1 || SparseKernels[j] % 2 == 0 || SparseDilations[j] < 1)
                    throw new ArgumentOutOfRangeException(nameof(SparseKernels), $"Sparse kernel {j}: size {SparseKernels[j]} (must be odd), dilation {SparseDilations[j]} (at least 1).");
        }
    }

    /// <summary>Value equality, the kernel lists compared element by element.</summary>
    public bool Equals(PlksrOptions? other)
        => other is not null && Dim == other.Dim && NumBlocks == other.NumBlocks && ChannelMixer == other.ChannelMixer &&
           KernelSize == other.KernelSize && SplitRatio.Equals(other.SplitRatio) && LargeKernel == other.LargeKernel &&
           UseMaxKernel == other.UseMaxKernel && SparseKernels.SequenceEqual(other.SparseKernels) &&
           SparseDilations.SequenceEqual(other.SparseDilations) && WithIdentity == other.WithIdentity && UseEa == other.UseEa;

    /// <inheritdoc />
    public override int GetHashCode()
        => HashCode.Combine(HashCode.Combine(Dim, NumBlocks, ChannelMixer, KernelSize, SplitRatio, LargeKernel, UseMaxKernel),
            HashCode.Combine(SparseKernels.Count, SparseDilations.Count, WithIdentity, UseEa));
}

internal sealed class PlksrDescriptor : SrNetworkDescriptor<PlksrOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Plksr;
    public override string Citation => "Lee, Yun, Ro: Partial Large Kernel CNNs for Efficient Super-Resolution, arXiv 2404.11848, 2024";
    public override string Reference => "dslisleedh/PLKSR plksr/archs/plksr_arch.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [1, 2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override PlksrOptions Paper => PlksrOptions.Paper;
    protected override PlksrOptions Notes => PlksrOptions.Notes;
    protected override SrNetwork Create(PlksrOptions options, int scale, int channels) => new Plksr(options, scale, channels);

    public override IReadOnlyList<string> MarkerKeys { get; } =
        ["feats.0.weight", "feats.1.channe_mixer.0.weight", "feats.1.lk.conv.weight", "feats.1.lk.mn_conv.weight", "feats.1.lk.convs.0.weight", "feats.1.refine.weight"];

    /// <summary>
    /// <c>feats.{i}</c> blocks with the reference's <c>channe_mixer</c> (spelt so; RealPLKSR spells it right): D and the
    /// channels from <c>feats.0</c>, blocks from the <c>refine</c> convolutions, scale from the last convolution's outputs
    /// / channels, the mixer from its two kernel sizes ((3, 1) CCM, (1, 3) ICCM, (3, 3) DCCM), the large kernel from its
    /// keys (<c>lk.conv</c> PLK, <c>lk.mn_conv</c> RectSparsePLK, <c>lk.convs.{j}</c> SparsePLK) with its size and
    /// partial channels p (split ratio (p + 0.5) / D, which truncates back to p as the reference does), attention from
    /// <c>attn.f.0</c>. <c>with_idt</c> and SparsePLK's dilations are not stored: published models use neither.
    /// </summary>
    public override Detection? Detect(StateDictShapes stateDict)
    {
        if (!stateDict.HasAll("feats.0.weight", "feats.1.channe_mixer.0.weight", "feats.1.channe_mixer.2.weight", "feats.1.refine.weight"))
            return null;
        int dim = stateDict.Dim("feats.0.weight", 0), channels = stateDict.Dim("feats.0.weight", 1);
        int blocks = stateDict.Indices("feats.").Count(i => stateDict.Has($"feats.{i}.refine.weight"));
        int outputs = stateDict.Dim($"feats.{blocks + 1}.weight", 0);
        int scale = (int)Math.Round(Math.Sqrt(outputs / (double)channels));
        if (channels is not (1 or 3) || scale < 1 || channels * scale * scale != outputs)
            throw new InvalidDataException($"its PLKSR takes {channels} channels and ends with {outputs}: not channels x scale² for 1 or 3 channels");
        var mixer = (stateDict.Dim("feats.1.channe_mixer.0.weight", 2), stateDict.Dim("feats.1.channe_mixer.2.weight", 2)) switch
        {
            (3, 1) => PlksrChannelMixer.Ccm,
            (1, 3) => PlksrChannelMixer.Iccm,
            (3, 3) => PlksrChannelMixer.Dccm,
            var (a, b) => throw new InvalidDataException($"its PLKSR channel mixer has kernels {a} and {b}, which is none of CCM, ICCM, DCCM"),
        };
        PlksrLargeKernel largeKernel;
        int kernel, partial;
        var notes = new List<string> { "with_idt is not stored in files: false, as published models use" };
        if (stateDict.Has("feats.1.lk.conv.weight"))
            (largeKernel, kernel, partial) = (PlksrLargeKernel.Plk, stateDict.Dim("feats.1.lk.conv.weight", 2), stateDict.Dim("feats.1.lk.conv.weight", 0));
        else if (stateDict.Has("feats.1.lk.mn_conv.weight"))
            (largeKernel, kernel, partial) = (PlksrLargeKernel.RectSparsePlk, stateDict.Dim("feats.1.lk.mn_conv.weight", 2), stateDict.Dim("feats.1.lk.mn_conv.weight", 0));
        else if (stateDict.Has("feats.1.lk.convs.0.weight"))
        {
            var sizes = stateDict.Indices("feats.1.lk.convs.").Select(j => stateDict.Dim($"feats.1.lk.convs.{j}.weight", 2)).ToList();
            if (!sizes.SequenceEqual([5, 5, 5, 5]))
                throw new InvalidDataException(
                    $"its PLKSR uses SparsePLK with kernels {string.Join(", ", sizes)}: only the official defaults (four 5x5 kernels, dilations 1-4) can be read, since files do not store dilations");
            (largeKernel, kernel, partial) = (PlksrLargeKernel.SparsePlk, 17, stateDict.Dim("feats.1.lk.convs.0.weight", 0));
            notes.Add("SparsePLK's dilations are not stored in files: the official 1, 2, 3, 4");
        }
        else
        {
            throw new InvalidDataException("its PLKSR blocks have no large-kernel convolution the layout knows (lk.conv, lk.mn_conv, lk.convs)");
        }

        var options = new PlksrOptions
        {
            Dim = dim, NumBlocks = blocks, ChannelMixer = mixer, KernelSize = kernel, SplitRatio = (partial + 0.5) / dim,
            LargeKernel = largeKernel, UseEa = stateDict.Has("feats.1.attn.f.0.weight"),
        };
        return new Detection(options, scale, channels, $"official layout, {mixer} mixer, {largeKernel}", Notes: notes);
    }
}
