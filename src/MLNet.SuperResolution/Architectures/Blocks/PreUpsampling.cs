using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>The fixed input upscaling of networks that work on a pre-upscaled image (SRCNN, VDSR, DRCN, ...).</summary>
internal static class PreUpsampling
{
    /// <summary>Upscales [N, C, h, w] by <paramref name="scale"/> with MATLAB bicubic or bilinear interpolation.</summary>
    public static Tensor Apply(Tensor input, int scale, SrPreUpsampling mode) => mode switch
    {
        SrPreUpsampling.Bicubic => TorchBicubic.Upscale(input, scale),
        SrPreUpsampling.Bilinear => nn.functional.interpolate(input, scale_factor: [scale, scale], mode: InterpolationMode.Bilinear, align_corners: false),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown pre-upsampling."),
    };
}
