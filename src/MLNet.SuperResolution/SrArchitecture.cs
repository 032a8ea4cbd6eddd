namespace MLNet.SuperResolution;

/// <summary>
/// The super-resolution networks this library builds, trains and imports. <see cref="SrModelZoo"/> describes each
/// (paper, reference implementation, scales, parameter counts, presets).
/// </summary>
public enum SrArchitecture
{
    /// <summary>MATLAB bicubic interpolation: no weights, the baseline every SR table starts with.</summary>
    Bicubic = 0,

    /// <summary>SRCNN 9-5-5 (Dong et al., ECCV 2014 / TPAMI 2016): three convolutions on the bicubic-upscaled image.</summary>
    Srcnn = 1,

    /// <summary>FSRCNN (Dong et al., ECCV 2016): d=56, s=12, m=4 with PReLU and a 9x9 transposed convolution.</summary>
    Fsrcnn = 2,

    /// <summary>ESPCN (Shi et al., CVPR 2016): 5-3-3 convolutions with tanh and a sub-pixel (pixel shuffle) output.</summary>
    Espcn = 3,

    /// <summary>VDSR (Kim et al., CVPR 2016): 20 3x3 convolutions on the bicubic-upscaled image, global residual.</summary>
    Vdsr = 4,

    /// <summary>DRCN (Kim et al., CVPR 2016): one convolution applied recursively, recursive supervision, skip connection.</summary>
    Drcn = 5,

    /// <summary>RED-Net (Mao et al., NIPS 2016): symmetric convolution/deconvolution layers with skip connections.</summary>
    Red = 6,

    /// <summary>DRRN (Tai et al., CVPR 2017): recursive residual units sharing weights, global and local residuals.</summary>
    Drrn = 7,

    /// <summary>LapSRN (Lai et al., CVPR 2017): a Laplacian pyramid that upscales by 2 per level (x2, x4, x8).</summary>
    LapSrn = 8,

    /// <summary>SRDenseNet (Tong et al., ICCV 2017): dense blocks with skip connections and deconvolution upsampling.</summary>
    SrDenseNet = 9,

    /// <summary>SRResNet, the generator of SRGAN (Ledig et al., CVPR 2017): residual blocks with batch normalisation.</summary>
    SrResNet = 10,

    /// <summary>MemNet (Tai et al., ICCV 2017): memory blocks of recursive units with gate units.</summary>
    MemNet = 11,

    /// <summary>EDSR (Lim et al., CVPRW 2017): 32 residual blocks of 256 channels without batch normalisation, residual scaling 0.1.</summary>
    Edsr = 12,

    /// <summary>EDSR baseline (Lim et al., CVPRW 2017): 16 residual blocks of 64 channels.</summary>
    EdsrBaseline = 13,

    /// <summary>RDN (Zhang et al., CVPR 2018): residual dense blocks and global feature fusion.</summary>
    Rdn = 14,

    /// <summary>RCAN (Zhang et al., ECCV 2018): residual groups of residual channel-attention blocks.</summary>
    Rcan = 15,

    /// <summary>DRN (Guo et al., CVPR 2020): dual regression, a closed loop that also learns the downscaling.</summary>
    Drn = 16,

    /// <summary>
    /// ESRGAN's RRDBNet (Wang et al., ECCVW 2018), with Real-ESRGAN's pixel-unshuffled x2 and x1 and ESRGAN+: residual-in-
    /// residual dense blocks; the network of most community models (Real-ESRGAN, BSRGAN, the original ESRGAN files).
    /// </summary>
    Esrgan = 17,

    /// <summary>SRVGGNetCompact (Real-ESRGAN, ICCVW 2021): a plain stack of PReLU convolutions and a pixel shuffle, for fast real-world models.</summary>
    Compact = 18,

    /// <summary>
    /// SPAN (Wan et al., CVPRW 2024; NTIRE 2024 efficient SR winner): six blocks of reparameterisable 3x3 convolutions
    /// with a parameter-free attention, (c3 + x) * (sigmoid(c3) - 0.5).
    /// </summary>
    Span = 19,

    /// <summary>
    /// PLKSR (Lee et al., 2024): blocks of a channel mixer, a 17x17 convolution of a quarter of the channels (partial large
    /// kernel) and element-wise attention, with a repeated-input skip around a sub-pixel tail.
    /// </summary>
    Plksr = 20,

    /// <summary>
    /// RealPLKSR (neosr's real-world PLKSR): PLKSR's blocks with Mish and group normalisation (or a channel layer
    /// normalisation), optionally a learned DySample upsampler.
    /// </summary>
    RealPlksr = 21,
}

/// <summary>Which configuration of a network to build.</summary>
public enum SrPreset
{
    /// <summary>The paper's configuration, as its reference implementation builds it (parameter counts match it).</summary>
    Paper = 0,

    /// <summary>The small configuration of the project's founding notes: fast to train on a CPU.</summary>
    Notes = 1,
}

/// <summary>Which channels a network sees.</summary>
public enum SrChannels
{
    /// <summary>3-channel networks on RGB in [0, 1].</summary>
    Rgb = 0,

    /// <summary>
    /// 1-channel networks on the BT.601 Y channel (MATLAB <c>rgb2ycbcr</c>, divided by 255); the output's Cb and Cr
    /// come from bicubic upscaling of the input's.
    /// </summary>
    Y = 1,

    /// <summary>
    /// 1-channel networks on full-range luma, 0.299 R + 0.587 G + 0.114 B in [0, 1]: what a grayscale image holds (and
    /// what PIL's <c>convert("L")</c> gives), the input of the community's grayscale models. The output's colour comes
    /// from the input's full-range (JFIF) Cb and Cr, upscaled with bicubic, so a grayscale image stays grayscale and a
    /// colour one keeps its colour. Detected 1-channel community models run this way.
    /// </summary>
    Gray = 2,
}

/// <summary>What <see cref="SrChannels"/> means for a network.</summary>
internal static class SrChannelsExtensions
{
    /// <summary>The network's input and output channels: 3 for RGB, 1 for Y and Gray.</summary>
    public static int NetworkChannels(this SrChannels channels) => channels == SrChannels.Rgb ? 3 : 1;
}
