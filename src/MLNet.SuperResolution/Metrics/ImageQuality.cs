using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Metrics;

/// <summary>
/// PSNR and SSIM on the Y channel, the SR field's protocol (../shared/docs/protocol.md steps 4-8).
/// </summary>
internal static class ImageQuality
{
    /// <summary>Side of the SSIM Gaussian window.</summary>
    private const int WindowSize = 11;

    /// <summary>Standard deviation of the SSIM Gaussian window.</summary>
    private const double WindowSigma = 1.5;

    /// <summary>SSIM's C1 = (0.01 * 255)^2.</summary>
    private const double C1 = 0.01 * 255 * (0.01 * 255);

    /// <summary>SSIM's C2 = (0.03 * 255)^2.</summary>
    private const double C2 = 0.03 * 255 * (0.03 * 255);

    /// <summary>The normalised 1-D Gaussian whose outer product is the 11x11 SSIM window.</summary>
    private static readonly double[] Window = GaussianWindow(WindowSize, WindowSigma);

    /// <summary>
    /// Compares an SR output with its ground truth of the same size: Y (float64) of both, <paramref name="border"/>
    /// pixels shaved from every side, PSNR = 10 log10(255^2 / MSE) and SSIM (11x11 Gaussian, sigma 1.5, valid region).
    /// </summary>
    /// <param name="output">The SR output, 8-bit RGB.</param>
    /// <param name="groundTruth">The ground truth, same size.</param>
    /// <param name="border">Pixels removed from every side before both metrics (the protocol uses the scale).</param>
    /// <returns>PSNR in dB (<see cref="double.PositiveInfinity"/> for identical Y) and the mean SSIM.</returns>
    /// <exception cref="ArgumentException">The sizes differ, or the shaved image is smaller than the SSIM window.</exception>
    public static (double Psnr, double Ssim) Compare(RgbImage output, RgbImage groundTruth, int border)
    {
        var (x, y, width, height) = ShavedLuma(output, groundTruth, border, WindowSize, "the {0}x{0} SSIM window");
        return (Psnr(x, y), Ssim(x, y, width, height));
    }

    /// <summary>PSNR alone (the validation metric while training): Y, <paramref name="border"/> pixels shaved, as in <see cref="Compare"/>.</summary>
    /// <param name="output">The SR output, 8-bit RGB.</param>
    /// <param name="groundTruth">The ground truth, same size.</param>
    /// <param name="border">Pixels removed from every side (the protocol uses the scale).</param>
    /// <returns>PSNR in dB (<see cref="double.PositiveInfinity"/> for identical Y).</returns>
    /// <exception cref="ArgumentException">The sizes differ, or nothing is left after shaving.</exception>
    public static double PsnrY(RgbImage output, RgbImage groundTruth, int border)
    {
        var (x, y, _, _) = ShavedLuma(output, groundTruth, border, 1, "{0} pixel");
        return Psnr(x, y);
    }

    private static (double[] X, double[] Y, int Width, int Height) ShavedLuma(RgbImage output, RgbImage groundTruth, int border, int minimum, string what)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(groundTruth);
        if (output.Width != groundTruth.Width || output.Height != groundTruth.Height)
            throw new ArgumentException(
                $"Output ({output.Width}x{output.Height}) and ground truth ({groundTruth.Width}x{groundTruth.Height}) must have the same size.",
                nameof(output));
        ArgumentOutOfRangeException.ThrowIfNegative(border);
        int width = output.Width - 2 * border, height = output.Height - 2 * border;
        if (width < minimum || height < minimum)
            throw new ArgumentException(
                $"A {output.Width}x{output.Height} image shaved by {border} px leaves {Math.Max(width, 0)}x{Math.Max(height, 0)}, smaller than {string.Format(System.Globalization.CultureInfo.InvariantCulture, what, minimum)}.",
                nameof(border));

        var x = Shave(ColorSpace.Luma(output), output.Width, border, width, height);
        var y = Shave(ColorSpace.Luma(groundTruth), groundTruth.Width, border, width, height);
        return (x, y, width, height);
    }

    /// <summary>PSNR = 10 log10(255^2 / MSE) of two equally long sample arrays.</summary>
    /// <param name="x">The first samples.</param>
    /// <param name="y">The second samples.</param>
    /// <returns>PSNR in dB, or +infinity when they are identical.</returns>
    private static double Psnr(double[] x, double[] y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - y[i];
            sum += d * d;
        }

        double mse = sum / x.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>
    /// Mean SSIM (Wang et al. 2004) over the valid region: the five local statistics (means of x, y, x^2, y^2, xy
    /// under the separable 11x11 Gaussian window, no padding) are filtered in one fused horizontal pass and one
    /// vertical pass per output row, so the image is read once per pass.
    /// </summary>
    /// <param name="x">The first image, row-major.</param>
    /// <param name="y">The second image, row-major.</param>
    /// <param name="width">The width of both.</param>
    /// <param name="height">The height of both.</param>
    /// <returns>The mean of the SSIM map, (width - 10) x (height - 10) values.</returns>
    private static double Ssim(double[] x, double[] y, int width, int height)
    {
        int outWidth = width - WindowSize + 1, outHeight = height - WindowSize + 1;
        var window = Window;

        // Horizontal pass: every row, the five statistics at every valid column.
        int size = height * outWidth;
        var hx = new double[size];
        var hy = new double[size];
        var hxx = new double[size];
        var hyy = new double[size];
        var hxy = new double[size];
        for (int r = 0; r < height; r++)
        {
            var rowX = x.AsSpan(r * width, width);
            var rowY = y.AsSpan(r * width, width);
            int outRow = r * outWidth;
            for (int c = 0; c < outWidth; c++)
            {
                double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                for (int k = 0; k < WindowSize; k++)
                {
                    double w = window[k], a = rowX[c + k], b = rowY[c + k];
                    sx += w * a;
                    sy += w * b;
                    sxx += w * a * a;
                    syy += w * b * b;
                    sxy += w * a * b;
                }

                hx[outRow + c] = sx;
                hy[outRow + c] = sy;
                hxx[outRow + c] = sxx;
                hyy[outRow + c] = syy;
                hxy[outRow + c] = sxy;
            }
        }

        // Vertical pass, one output row at a time, then that row's SSIM values.
        var muX = new double[outWidth];
        var muY = new double[outWidth];
        var eXX = new double[outWidth];
        var eYY = new double[outWidth];
        var eXY = new double[outWidth];
        double sum = 0;
        for (int r = 0; r < outHeight; r++)
        {
            Array.Clear(muX);
            Array.Clear(muY);
            Array.Clear(eXX);
            Array.Clear(eYY);
            Array.Clear(eXY);
            for (int k = 0; k < WindowSize; k++)
            {
                double w = window[k];
                int start = (r + k) * outWidth;
                Accumulate(muX, hx.AsSpan(start, outWidth), w);
                Accumulate(muY, hy.AsSpan(start, outWidth), w);
                Accumulate(eXX, hxx.AsSpan(start, outWidth), w);
                Accumulate(eYY, hyy.AsSpan(start, outWidth), w);
                Accumulate(eXY, hxy.AsSpan(start, outWidth), w);
            }

            for (int c = 0; c < outWidth; c++)
            {
                double mx = muX[c], my = muY[c];
                double mxx = mx * mx, myy = my * my, mxy = mx * my;
                double varX = eXX[c] - mxx, varY = eYY[c] - myy, cov = eXY[c] - mxy;
                sum += (2 * mxy + C1) * (2 * cov + C2) / ((mxx + myy + C1) * (varX + varY + C2));
            }
        }

        return sum / ((double)outWidth * outHeight);
    }

    /// <summary>target += weight * source, element-wise.</summary>
    /// <param name="target">The accumulator.</param>
    /// <param name="source">The values to add, as long as <paramref name="target"/>.</param>
    /// <param name="weight">The factor.</param>
    private static void Accumulate(Span<double> target, ReadOnlySpan<double> source, double weight)
    {
        for (int i = 0; i < target.Length; i++)
            target[i] += weight * source[i];
    }

    /// <summary>Copies the interior of a row-major plane, <paramref name="border"/> pixels removed on every side.</summary>
    /// <param name="plane">The full plane.</param>
    /// <param name="fullWidth">Its width.</param>
    /// <param name="border">Pixels removed from every side.</param>
    /// <param name="width">The interior width.</param>
    /// <param name="height">The interior height.</param>
    /// <returns>The interior, row-major.</returns>
    private static double[] Shave(double[] plane, int fullWidth, int border, int width, int height)
    {
        var interior = new double[width * height];
        for (int r = 0; r < height; r++)
            Array.Copy(plane, (r + border) * fullWidth + border, interior, r * width, width);
        return interior;
    }

    /// <summary>A normalised 1-D Gaussian (its outer product with itself is MATLAB's fspecial('gaussian', size, sigma)).</summary>
    /// <param name="size">The number of taps.</param>
    /// <param name="sigma">The standard deviation.</param>
    /// <returns>The taps, summing to 1.</returns>
    private static double[] GaussianWindow(int size, double sigma)
    {
        var taps = new double[size];
        double center = (size - 1) / 2.0, sum = 0;
        for (int i = 0; i < size; i++)
        {
            double d = i - center;
            taps[i] = Math.Exp(-d * d / (2 * sigma * sigma));
            sum += taps[i];
        }

        for (int i = 0; i < size; i++)
            taps[i] /= sum;
        return taps;
    }
}
