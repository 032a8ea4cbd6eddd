using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// BT.601 studio-swing YCbCr exactly as MATLAB's <c>rgb2ycbcr</c>/<c>ycbcr2rgb</c> (protocol step 4).
/// Tensors hold values in [0, 1] (8-bit value / 255). STUB: to be implemented (Imaging helper).
/// </summary>
internal static class ColorSpace
{
    /// <summary>[N, 3, H, W] RGB in [0,1] -> [N, 3, H, W] (Y, Cb, Cr) / 255; Y in [16/255, 235/255].</summary>
    public static Tensor RgbToYCbCr(Tensor rgb) => throw new NotImplementedException();

    /// <summary>Inverse of <see cref="RgbToYCbCr"/> (no clamping).</summary>
    public static Tensor YCbCrToRgb(Tensor ycbcr) => throw new NotImplementedException();

    /// <summary>The protocol's Y (16..235 scale, float64) of an 8-bit image, row-major.</summary>
    public static double[] Luma(RgbImage image) => throw new NotImplementedException();
}
