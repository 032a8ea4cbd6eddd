using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// EDSR and its baseline: Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017.
/// Residual blocks without batch normalisation (conv, ReLU, conv, times res_scale, plus the input) between a head
/// convolution and a sub-pixel tail, with a global skip and DIV2K mean shifts (the shared
/// <see cref="MeanShiftedResidualNetwork"/> layout). Keys follow sanghyun-son/EDSR-PyTorch edsr.py (MIT):
/// <c>sub_mean</c>, <c>head.0</c>, <c>body.{i}.body.{0,2}</c>, <c>body.{n}</c>, <c>tail.0.{0,2}</c>, <c>tail.1</c>,
/// <c>add_mean</c>. The baseline (16 blocks of 64 features, res_scale 1) has 1,369,859 parameters at x2 for RGB,
/// EDSR (32 blocks of 256 features, res_scale 0.1) 40,729,603.
/// </summary>
internal sealed class Edsr : MeanShiftedResidualNetwork
{
    /// <summary>Builds EDSR (or the baseline) for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Edsr(EdsrFamilyOptions options, int scale, int channels)
        : base(nameof(Edsr), scale, channels, options.NumFeat, options.RgbRange, options.NumBlock,
            () => new ResidualBlock(options.NumFeat, options.ResScale))
    {
    }
}

/// <summary>
/// Hyper-parameters shared by <see cref="EdsrOptions"/> and <see cref="EdsrBaselineOptions"/> (the same network,
/// two sizes). The defaults are the baseline's.
/// </summary>
public abstract record EdsrFamilyOptions : SrNetworkOptions
{
    /// <summary>Features of the head, the residual blocks and the upsampler. EDSR 256; baseline 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Residual blocks in the body. EDSR 32; baseline 16.</summary>
    public int NumBlock { get; init; } = 16;

    /// <summary>
    /// Factor on each block's residual before it is added (residual scaling, which keeps wide networks stable).
    /// EDSR 0.1; baseline 1.
    /// </summary>
    public double ResScale { get; init; } = 1.0;

    /// <summary>
    /// The pixel range the network computes in (EDSR-PyTorch's <c>rgb_range</c>): inputs in [0, 1] are multiplied by
    /// it before the mean shift and outputs divided by it after, so weights trained by the reference (255) load and
    /// work unchanged. Paper 255.
    /// </summary>
    public double RgbRange { get; init; } = 255;
}

/// <summary>EDSR hyper-parameters: 32 blocks of 256 features with residual scaling 0.1 in the paper.</summary>
public sealed record EdsrOptions : EdsrFamilyOptions
{
    /// <summary>The paper's EDSR values (32 blocks, 256 features, residual scaling 0.1, RGB range 255).</summary>
    public EdsrOptions()
    {
        NumFeat = 256;
        NumBlock = 32;
        ResScale = 0.1;
    }

    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Edsr;

    /// <summary>The paper's EDSR: 32 blocks of 256 features, residual scaling 0.1 (about 41M parameters at x2).</summary>
    public static EdsrOptions Paper => new();

    /// <summary>
    /// A small EDSR for CPU training (the founding notes have none): 8 blocks of 64 features, keeping EDSR's residual
    /// scaling 0.1, which is what distinguishes it from <see cref="EdsrBaselineOptions.Notes"/>.
    /// </summary>
    public static EdsrOptions Notes => new() { NumFeat = 64, NumBlock = 8 };
}

/// <summary>EDSR baseline hyper-parameters: 16 blocks of 64 features without residual scaling in the paper.</summary>
public sealed record EdsrBaselineOptions : EdsrFamilyOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.EdsrBaseline;

    /// <summary>The paper's baseline: 16 blocks of 64 features, residual scaling 1 (1,369,859 parameters at x2).</summary>
    public static EdsrBaselineOptions Paper => new();

    /// <summary>The founding notes' baseline: 8 blocks of 64 features.</summary>
    public static EdsrBaselineOptions Notes => new() { NumBlock = 8 };
}

/// <summary>What EDSR's two descriptors share: the paper, the reference, the scales, RGB, the one network class.</summary>
internal abstract class EdsrFamilyDescriptor<TOptions> : SrNetworkDescriptor<TOptions>
    where TOptions : EdsrFamilyOptions
{
    public override string Citation => "Lim, Son, Kim, Nah, Lee: Enhanced Deep Residual Networks for Single Image Super-Resolution, CVPRW 2017";
    public override string Reference => "sanghyun-son/EDSR-PyTorch src/model/edsr.py, common.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override SrNetwork Create(TOptions options, int scale, int channels) => new Edsr(options, scale, channels);
}

internal sealed class EdsrDescriptor : EdsrFamilyDescriptor<EdsrOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Edsr;
    protected override EdsrOptions Paper => EdsrOptions.Paper;
    protected override EdsrOptions Notes => EdsrOptions.Notes;
}

internal sealed class EdsrBaselineDescriptor : EdsrFamilyDescriptor<EdsrBaselineOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.EdsrBaseline;
    protected override EdsrBaselineOptions Paper => EdsrBaselineOptions.Paper;
    protected override EdsrBaselineOptions Notes => EdsrBaselineOptions.Notes;
}
