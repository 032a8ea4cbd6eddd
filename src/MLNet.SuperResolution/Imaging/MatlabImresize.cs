namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB's <c>imresize(x, scale, 'bicubic')</c>, exactly as ../shared/docs/protocol.md spells it out: the cubic
/// kernel with a = -0.5, antialiasing (a kernel stretched by 1/scale) when shrinking, borders as MATLAB handles
/// them, and for 8-bit images rounding to 0..255 after each of the two separable passes, rows (height) first.
/// </summary>
/// <remarks>
/// One routine, <see cref="Contributions"/>, computes which input samples feed each output sample and with which
/// weights; the 8-bit path (<see cref="Downscale"/>, <see cref="Upscale"/>) and the dense matrix used by
/// <see cref="TorchBicubic"/> (<see cref="WeightMatrix"/>) are both built from it.
/// <para>
/// Borders: MATLAB's <c>imresize.m</c> clamps out-of-range tap indices ("has the effect of replicating
/// end-points"), after normalising the weights. Several ports (and the protocol note) mirror them instead; that
/// differs only in the outermost one or two output pixels, but there by up to 7 levels. With clamping this class
/// reproduces every value of the MATLAB-made LR files of Set5 (x2, x3, x4) exactly; with mirroring 98.6-99.4% match.
/// </para>
/// </remarks>
internal static class MatlabImresize
{
    /// <summary>
    /// Downscales by an integer factor, as MATLAB <c>imresize(x, 1/factor, 'bicubic')</c> on uint8: antialiasing
    /// kernel, replicated border samples, rounding to 0..255 after each pass, rows (height, MATLAB dimension 1) first, then
    /// columns. Alpha, when present, is resized the same way.
    /// </summary>
    /// <param name="image">The image; its width and height must be multiples of <paramref name="factor"/>.</param>
    /// <param name="factor">The integer shrink factor (1 or more).</param>
    /// <returns>A new image of size (width / factor) x (height / factor).</returns>
    /// <exception cref="ArgumentException">The image size is not a multiple of <paramref name="factor"/>.</exception>
    public static RgbImage Downscale(RgbImage image, int factor)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckFactor(factor);
        if (image.Width % factor != 0 || image.Height % factor != 0)
            throw new ArgumentException(
                $"Downscale by {factor} needs a width and height that are multiples of {factor}; the image is {image.Width}x{image.Height} " +
                "(crop it first, e.g. with RgbImage.CropToMultipleOf).", nameof(image));
        return Resize(image, image.Width / factor, image.Height / factor);
    }

    /// <summary>
    /// Upscales by an integer factor, as MATLAB <c>imresize(x, factor, 'bicubic')</c> on uint8 (rounding to 0..255
    /// after each pass, rows first). Alpha, when present, is resized the same way.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="factor">The integer enlargement factor (1 or more).</param>
    /// <returns>A new image of size (width * factor) x (height * factor).</returns>
    public static RgbImage Upscale(RgbImage image, int factor)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckFactor(factor);
        return Resize(image, checked(image.Width * factor), checked(image.Height * factor));
    }

    /// <summary>
    /// Upscales one 8-bit plane (an alpha channel) by an integer factor, exactly as <see cref="Upscale"/> upscales
    /// each plane of an image.
    /// </summary>
    /// <param name="plane">The plane, row-major, <paramref name="width"/> x <paramref name="height"/> bytes.</param>
    /// <param name="width">The plane's width.</param>
    /// <param name="height">The plane's height.</param>
    /// <param name="factor">The integer enlargement factor (1 or more).</param>
    /// <returns>The upscaled plane, (width * factor) x (height * factor) bytes.</returns>
    public static byte[] UpscalePlane(ReadOnlySpan<byte> plane, int width, int height, int factor)
    {
        CheckFactor(factor);
        if (width <= 0 || height <= 0 || plane.Length != width * height)
            throw new ArgumentException($"Expected {width}x{height} = {(long)width * height} bytes, got {plane.Length}.", nameof(plane));
        int outWidth = checked(width * factor), outHeight = checked(height * factor);
        var upscaled = new byte[checked(outWidth * outHeight)];
        ResizePlane(plane, width, height, Contributions(height, outHeight), Contributions(width, outWidth), upscaled);
        return upscaled;
    }

    /// <summary>
    /// The resize along one dimension as a dense matrix M of shape [<paramref name="outLength"/>,
    /// <paramref name="inLength"/>], so that out = M @ in, for the scale outLength / inLength. The border handling is
    /// folded into the weights (an edge sample that several taps reach gets all their weights); every row sums to 1.
    /// </summary>
    /// <param name="inLength">The number of input samples.</param>
    /// <param name="outLength">The number of output samples.</param>
    /// <returns>The weight matrix, [outLength, inLength].</returns>
    public static double[,] WeightMatrix(int inLength, int outLength)
    {
        var (indices, weights) = Contributions(inLength, outLength);
        var matrix = new double[outLength, inLength];
        for (int o = 0; o < outLength; o++)
            for (int k = 0; k < indices[o].Length; k++)
                matrix[o, indices[o][k]] += weights[o][k];
        return matrix;
    }

    /// <summary>
    /// The taps of upscaling by an integer <paramref name="scale"/>, per output phase (output index modulo the scale):
    /// input offsets relative to output index / scale and their weights, MATLAB's exactly (taken from an interior sample
    /// of <see cref="Contributions"/>, where no index is clamped). At the borders MATLAB clamps indices to the image, which
    /// is what reading a replicate-padded input does, so every output sample is these taps over the padded input.
    /// </summary>
    /// <param name="scale">The integer enlargement factor (1 or more).</param>
    /// <returns>Per phase, the input offsets (within ±<see cref="UpscaleReach"/>) and the weights.</returns>
    public static (int[] Offsets, double[] Weights)[] UpscalePhaseTaps(int scale)
    {
        CheckFactor(scale);
        const int length = 4 * UpscaleReach, centre = 2 * UpscaleReach;
        var (indices, weights) = Contributions(length, length * scale);
        return Enumerable.Range(0, scale)
            .Select(phase =>
            {
                int output = centre * scale + phase;
                return (indices[output].Select(i => i - centre).ToArray(), weights[output].ToArray());
            })
            .ToArray();
    }

    /// <summary>How far (in input samples) an upscaling tap reaches from output index / scale: the kernel is 4 wide.</summary>
    public const int UpscaleReach = 3;

    /// <summary>
    /// MATLAB's <c>contributions</c>: for every output sample, the (0-based, clamped to the image) input indices it
    /// reads and their normalised weights, in MATLAB's tap order, taps with a zero weight left out.
    /// </summary>
    /// <param name="inLength">The number of input samples.</param>
    /// <param name="outLength">The number of output samples.</param>
    /// <returns>Per output sample, the input indices and the weights (same lengths).</returns>
    private static (int[][] Indices, double[][] Weights) Contributions(int inLength, int outLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outLength, 1);

        double scale = outLength / (double)inLength;
        bool antialias = scale < 1;
        double kernelWidth = antialias ? 4 / scale : 4;
        int taps = (int)Math.Ceiling(kernelWidth) + 2;

        var indices = new int[outLength][];
        var weights = new double[outLength][];
        var rawIndex = new int[taps];
        var rawWeight = new double[taps];
        for (int o = 0; o < outLength; o++)
        {
            // MATLAB works 1-based: output x maps to input u; the taps start at floor(u - width / 2). The weights are
            // normalised over all taps, then out-of-range indices are clamped (MATLAB: min(max(1, indices), in_length)).
            double x = o + 1;
            double u = x / scale + 0.5 * (1 - 1 / scale);
            int left = (int)Math.Floor(u - kernelWidth / 2);
            double sum = 0;
            for (int j = 0; j < taps; j++)
            {
                rawIndex[j] = left + j;
                double distance = u - rawIndex[j];
                rawWeight[j] = antialias ? scale * Cubic(scale * distance) : Cubic(distance);
                sum += rawWeight[j];
            }

            int kept = 0;
            for (int j = 0; j < taps; j++)
                if (rawWeight[j] != 0)
                    kept++;
            indices[o] = new int[kept];
            weights[o] = new double[kept];
            for (int j = 0, k = 0; j < taps; j++)
            {
                if (rawWeight[j] == 0)
                    continue;
                indices[o][k] = Math.Clamp(rawIndex[j] - 1, 0, inLength - 1);
                weights[o][k] = rawWeight[j] / sum;
                k++;
            }
        }

        return (indices, weights);
    }

    /// <summary>The cubic convolution kernel with a = -0.5 (Keys), written as MATLAB's <c>cubic</c>.</summary>
    /// <param name="x">The distance from the sample.</param>
    /// <returns>The kernel value.</returns>
    private static double Cubic(double x)
    {
        double absx = Math.Abs(x);
        double absx2 = absx * absx;
        double absx3 = absx2 * absx;
        if (absx <= 1)
            return 1.5 * absx3 - 2.5 * absx2 + 1;
        if (absx <= 2)
            return -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2;
        return 0;
    }

    /// <summary>Throws when an integer resize factor is below 1.</summary>
    /// <param name="factor">The factor to check.</param>
    private static void CheckFactor(int factor)
    {
        if (factor < 1)
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The resize factor must be 1 or more.");
    }

    /// <summary>Resizes every plane of an 8-bit image (RGB and alpha) to the given size, rows first.</summary>
    /// <param name="image">The image.</param>
    /// <param name="width">The output width.</param>
    /// <param name="height">The output height.</param>
    /// <returns>The resized image.</returns>
    private static RgbImage Resize(RgbImage image, int width, int height)
    {
        var rows = Contributions(image.Height, height);
        var columns = Contributions(image.Width, width);
        int inSize = image.PlaneSize, outSize = width * height;
        var planes = new byte[3 * outSize];
        for (int c = 0; c < 3; c++)
            ResizePlane(image.Planes.AsSpan(c * inSize, inSize), image.Width, image.Height, rows, columns, planes.AsSpan(c * outSize, outSize));
        byte[]? alpha = null;
        if (image.Alpha is not null)
        {
            alpha = new byte[outSize];
            ResizePlane(image.Alpha, image.Width, image.Height, rows, columns, alpha);
        }

        return new RgbImage(width, height, planes, alpha);
    }

    /// <summary>Resizes one row-major 8-bit plane: along the height, rounding, then along the width, rounding.</summary>
    /// <param name="source">The input plane, <paramref name="width"/> x <paramref name="height"/>.</param>
    /// <param name="width">The input width.</param>
    /// <param name="height">The input height.</param>
    /// <param name="rows">The contributions along the height.</param>
    /// <param name="columns">The contributions along the width.</param>
    /// <param name="destination">The output plane (output width x output height).</param>
    private static void ResizePlane(
        ReadOnlySpan<byte> source, int width, int height,
        (int[][] Indices, double[][] Weights) rows, (int[][] Indices, double[][] Weights) columns, Span<byte> destination)
    {
        int outHeight = rows.Indices.Length, outWidth = columns.Indices.Length;
        // Pass 1 (MATLAB dimension 1): each of the `width` columns is a line whose taps are `width` apart.
        var intermediate = new byte[outHeight * width];
        Pass(source, lines: width, lineStride: 1, tapStride: width, rows, intermediate, outLineStride: 1, outSampleStride: width);
        // Pass 2: each of the `outHeight` rows is a line of adjacent taps.
        Pass(intermediate, lines: outHeight, lineStride: width, tapStride: 1, columns, destination, outLineStride: outWidth, outSampleStride: 1);
    }

    /// <summary>
    /// One separable pass over strided lines of an 8-bit plane: every output sample is the weighted sum of its taps,
    /// rounded half away from zero and saturated to 0..255 (MATLAB's conversion back to uint8).
    /// </summary>
    /// <param name="source">The input samples.</param>
    /// <param name="lines">How many independent lines the pass resizes.</param>
    /// <param name="lineStride">Distance in <paramref name="source"/> between the starts of two lines.</param>
    /// <param name="tapStride">Distance in <paramref name="source"/> between two samples of a line.</param>
    /// <param name="contributions">Indices and weights per output sample of a line.</param>
    /// <param name="destination">The output samples.</param>
    /// <param name="outLineStride">Distance in <paramref name="destination"/> between the starts of two lines.</param>
    /// <param name="outSampleStride">Distance in <paramref name="destination"/> between two samples of a line.</param>
    private static void Pass(
        ReadOnlySpan<byte> source, int lines, int lineStride, int tapStride,
        (int[][] Indices, double[][] Weights) contributions,
        Span<byte> destination, int outLineStride, int outSampleStride)
    {
        var (indices, weights) = contributions;
        for (int line = 0; line < lines; line++)
        {
            int inBase = line * lineStride, outBase = line * outLineStride;
            for (int o = 0; o < indices.Length; o++)
            {
                int[] index = indices[o];
                double[] weight = weights[o];
                double sum = 0;
                for (int k = 0; k < index.Length; k++)
                    sum += weight[k] * source[inBase + index[k] * tapStride];
                destination[outBase + o * outSampleStride] = ToByte(sum);
            }
        }
    }

    /// <summary>MATLAB's double-to-uint8 conversion: round half away from zero, saturate to 0..255.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The 8-bit value.</returns>
    private static byte ToByte(double value) =>
        value <= 0 ? (byte)0 : value >= 255 ? (byte)255 : (byte)Math.Round(value, MidpointRounding.AwayFromZero);
}
