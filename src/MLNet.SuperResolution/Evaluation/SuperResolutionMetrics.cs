namespace MLNet.SuperResolution;

/// <summary>
/// PSNR and SSIM of upscaled images against their ground truth, measured as the SR literature does
/// (the benchmark protocol of EDSR, RCAN and their successors): Y channel (BT.601, MATLAB <c>rgb2ycbcr</c>) of the 8-bit output, <c>scale</c>
/// pixels shaved from every border, PSNR in float64, SSIM with an 11x11 Gaussian window; means over images.
/// </summary>
public sealed class SuperResolutionMetrics
{
    internal SuperResolutionMetrics(IReadOnlyList<ImageQualityMetrics> perImage, int scale, IReadOnlyList<SrSkippedRow>? skippedRows = null)
    {
        PerImage = perImage;
        SkippedRows = skippedRows ?? Array.Empty<SrSkippedRow>();
        Scale = scale;
        Psnr = perImage.Count == 0 ? double.NaN : perImage.Average(m => m.Psnr);
        Ssim = perImage.Count == 0 ? double.NaN : perImage.Average(m => m.Ssim);
    }

    /// <summary>Mean PSNR over the images, in dB (mean of per-image PSNR, as papers report).</summary>
    public double Psnr { get; }

    /// <summary>Mean SSIM over the images.</summary>
    public double Ssim { get; }

    /// <summary>The scale the images were evaluated at (also the border removed).</summary>
    public int Scale { get; }

    /// <summary>Number of images evaluated.</summary>
    public int Count => PerImage.Count;

    /// <summary>Per-image values, in row order.</summary>
    public IReadOnlyList<ImageQualityMetrics> PerImage { get; }

    /// <summary>
    /// Rows left out of the means as bad (unreadable or missing image, sizes that do not match), in row order: empty
    /// unless <c>Evaluate</c> was called with <see cref="SrBadRowHandling.Skip"/>.
    /// </summary>
    public IReadOnlyList<SrSkippedRow> SkippedRows { get; }
}

/// <summary>PSNR and SSIM of one image.</summary>
/// <param name="Index">Row index of the image in the evaluated data.</param>
/// <param name="Psnr">PSNR in dB (positive infinity when identical).</param>
/// <param name="Ssim">SSIM in [-1, 1].</param>
/// <param name="Source">The image's tag (the file path for images from <c>LoadImages</c>), when known.</param>
public sealed record ImageQualityMetrics(int Index, double Psnr, double Ssim, string? Source);
