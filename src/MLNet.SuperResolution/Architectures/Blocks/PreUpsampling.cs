using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>The fixed input upscaling of networks that work on a pre-upscaled image (SRCNN, VDSR, DRCN, ...).</summary>
internal static class PreUpsampling
{
    /// <summary>
    /// Upscales [N, C, h, w] by <paramref name="scale"/> with MATLAB bicubic or bilinear interpolation. A channels-last
    /// input (SrUpscaler's CPU default) gives a channels-last output, so the layers after it run channels-last too.
    /// </summary>
    public static Tensor Apply(Tensor input, int scale, SrPreUpsampling mode)
    {
        var upscaled = mode switch
        {
            SrPreUpsampling.Bicubic => TorchBicubic.Upscale(input, scale),
            SrPreUpsampling.Bilinear => nn.functional.interpolate(input, scale_factor: [scale, scale], mode: InterpolationMode.Bilinear, align_corners: false),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown pre-upsampling."),
        };
        if (!MemoryLayout.IsChannelsLast(input) || MemoryLayout.IsChannelsLast(upscaled))
            return upscaled;
        using (upscaled)
            return MemoryLayout.ToChannelsLast(upscaled);
    }
}
