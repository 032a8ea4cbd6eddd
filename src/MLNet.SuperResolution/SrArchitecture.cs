namespace MLNet.SuperResolution;

/// <summary>The super-resolution networks this library builds, trains and imports.</summary>
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
}
