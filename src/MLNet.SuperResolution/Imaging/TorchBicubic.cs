using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB bicubic resizing as a fixed (parameter-free, differentiable) torch operation, for networks that work
/// on a pre-upscaled image (SRCNN, VDSR, ...) and for Cb/Cr of Y-channel networks.
/// STUB: to be implemented (Imaging helper).
/// </summary>
internal static class TorchBicubic
{
    /// <summary>Upscales [N, C, H, W] to [N, C, H*scale, W*scale] in float (no rounding), on the input's device and dtype.</summary>
    public static Tensor Upscale(Tensor input, int scale) => throw new NotImplementedException();
}
