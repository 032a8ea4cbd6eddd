using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// RCAN: Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention Networks", ECCV 2018.
/// Residual-in-residual: residual groups, each a chain of residual channel-attention blocks (RCAB) closed by a
/// convolution and skipped over, inside EDSR's head / body / sub-pixel tail with a global skip and DIV2K mean shifts
/// (the shared <see cref="MeanShiftedResidualNetwork"/> layout). Keys follow sanghyun-son/EDSR-PyTorch rcan.py (MIT):
/// <c>head.0</c>, <c>body.{g}.body.{b}.body.{0,2}</c>, <c>body.{g}.body.{b}.body.3.conv_du.{0,2}</c>,
/// <c>body.{g}.body.{n}</c>, <c>body.{G}</c>, <c>tail.0.*</c>, <c>tail.1</c>, <c>sub_mean</c>, <c>add_mean</c>;
/// 15,444,643 parameters at x2 for RGB.
/// </summary>
internal sealed class Rcan : MeanShiftedResidualNetwork
{
    /// <summary>Builds RCAN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Rcan(RcanOptions options, int scale, int channels)
        : base(nameof(Rcan), scale, channels, options.NumFeat, options.RgbRange, options.NumGroup,
            () => new ResidualGroup(options.NumBlock,
                () => new ResidualChannelAttentionBlock(options.NumFeat, options.Reduction, options.ResScale), options.NumFeat))
    {
    }
}

/// <summary>RCAN hyper-parameters: 10 groups of 20 blocks, 64 features, reduction 16 in the paper.</summary>
public sealed record RcanOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Rcan;

    /// <summary>Features throughout the body. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Residual groups. Paper 10; the notes 3.</summary>
    public int NumGroup { get; init; } = 10;

    /// <summary>Residual channel-attention blocks per group. Paper 20; the notes 3.</summary>
    public int NumBlock { get; init; } = 20;

    /// <summary>Channel reduction inside the channel attention (64 -> 4 -> 64 features). Paper 16.</summary>
    public int Reduction { get; init; } = 16;

    /// <summary>
    /// Factor on each block's residual before it is added. Paper 1. The reference's RCAB ignores its res_scale
    /// argument; ours applies it, as BasicSR's RCAN does; at 1 the two are the same.
    /// </summary>
    public double ResScale { get; init; } = 1.0;

    /// <summary>
    /// The pixel range the network computes in (EDSR-PyTorch's <c>rgb_range</c>): inputs in [0, 1] are multiplied by
    /// it before the mean shift and outputs divided by it after, so weights trained by the reference (255) load and
    /// work unchanged. Paper 255.
    /// </summary>
    public double RgbRange { get; init; } = 255;

    /// <summary>The paper's RCAN: 10 groups x 20 blocks of 64 features, reduction 16 (about 15.4M parameters at x2).</summary>
    public static RcanOptions Paper => new();

    /// <summary>The founding notes' RCAN: 3 groups x 3 blocks.</summary>
    public static RcanOptions Notes => new() { NumGroup = 3, NumBlock = 3 };
}

internal sealed class RcanDescriptor : SrNetworkDescriptor<RcanOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Rcan;
    public override string Citation => "Zhang, Li, Li, Wang, Zhong, Fu: Image Super-Resolution Using Very Deep Residual Channel Attention Networks, ECCV 2018";
    public override string Reference => "sanghyun-son/EDSR-PyTorch src/model/rcan.py, common.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override RcanOptions Paper => RcanOptions.Paper;
    protected override RcanOptions Notes => RcanOptions.Notes;
    protected override SrNetwork Create(RcanOptions options, int scale, int channels) => new Rcan(options, scale, channels);
}
