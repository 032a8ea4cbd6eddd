using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Metrics;

/// <summary>
/// PSNR and SSIM on the Y channel, the SR field's protocol (../shared/docs/protocol.md steps 4-8).
/// STUB: to be implemented (Imaging helper).
/// </summary>
internal static class ImageQuality
{
    /// <summary>
    /// Compares an SR output with its ground truth of the same size: Y (float64) of both, <paramref name="border"/>
    /// pixels shaved from every side, PSNR = 10 log10(255^2 / MSE) and SSIM (11x11 Gaussian, sigma 1.5, valid region).
    /// </summary>
    public static (double Psnr, double Ssim) Compare(RgbImage output, RgbImage groundTruth, int border) => throw new NotImplementedException();
}
