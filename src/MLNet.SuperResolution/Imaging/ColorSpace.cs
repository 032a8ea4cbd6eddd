using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// BT.601 studio-swing YCbCr exactly as MATLAB's <c>rgb2ycbcr</c>/<c>ycbcr2rgb</c> (protocol step 4), and BT.601
/// full-range YCbCr (JFIF, JPEG's) for <see cref="SrChannels.Gray"/> networks. Tensors hold values in [0, 1] (8-bit
/// value / 255).
/// </summary>
/// <remarks>
/// Studio swing, with R, G, B in [0, 1]: Y = 16 + 65.481 R + 128.553 G + 24.966 B, Cb = 128 - 37.797 R - 74.203 G + 112 B,
/// Cr = 128 + 112 R - 93.786 G - 18.214 B, all on the 0..255 scale (tensors carry them divided by 255). Full range
/// (JFIF): Y = 0.299 R + 0.587 G + 0.114 B (a grayscale image's value), Cb = 0.5 - 0.168736 R - 0.331264 G + 0.5 B,
/// Cr = 0.5 + 0.5 R - 0.418688 G - 0.081312 B, on the [0, 1] scale. The inverses are the exact inverses of those affine
/// maps (no rounding, no clamping).
/// </remarks>
internal static class ColorSpace
{
    /// <summary>MATLAB's <c>rgb2ycbcr</c> matrix: rows Y, Cb, Cr; columns R, G, B in [0, 1]; results on 0..255.</summary>
    private static readonly double[,] Forward =
    {
        { 65.481, 128.553, 24.966 },
        { -37.797, -74.203, 112.0 },
        { 112.0, -93.786, -18.214 },
    };

    /// <summary>The offsets of Y, Cb, Cr on the 0..255 scale.</summary>
    private static readonly double[] Offset = { 16, 128, 128 };

    /// <summary>The affine map RGB [0,1] -> YCbCr / 255: matrix Forward / 255, offset Offset / 255.</summary>
    private static readonly (double[,] Matrix, double[] Offset) ToYCbCr = MakeForward();

    /// <summary>The exact inverse affine map YCbCr / 255 -> RGB [0,1].</summary>
    private static readonly (double[,] Matrix, double[] Offset) ToRgb = Invert(ToYCbCr);

    /// <summary>JFIF's full-range map RGB [0,1] -> (Y, Cb, Cr) in [0, 1].</summary>
    private static readonly (double[,] Matrix, double[] Offset) ToFullRangeYCbCr = (
        new[,] { { 0.299, 0.587, 0.114 }, { -0.168736, -0.331264, 0.5 }, { 0.5, -0.418688, -0.081312 } }, new[] { 0, 0.5, 0.5 });

    /// <summary>The exact inverse of <see cref="ToFullRangeYCbCr"/>.</summary>
    private static readonly (double[,] Matrix, double[] Offset) FromFullRangeYCbCr = Invert(ToFullRangeYCbCr);

    /// <summary>The full-range forward map in float32 (rows Y, Cb, Cr), for <see cref="SrChannels.Gray"/> (<c>ImageTensors.ToLuma</c>).</summary>
    public static readonly (float[] Matrix, float[] Offset) FullRangeRgbToYCbCrSingle = Single(ToFullRangeYCbCr);

    /// <summary>The full-range inverse map in float32 (rows R, G, B), for <see cref="SrChannels.Gray"/> (<c>ImageTensors.WriteFromLuma</c>).</summary>
    public static readonly (float[] Matrix, float[] Offset) FullRangeYCbCrToRgbSingle = Single(FromFullRangeYCbCr);

    /// <summary>
    /// <see cref="RgbToYCbCr"/>'s map in float32 for the fused conversion of 8-bit pixels (<c>ImageTensors.ToLuma</c>):
    /// the 3x3 matrix row-major (rows Y, Cb, Cr) and the 3 offsets.
    /// </summary>
    public static readonly (float[] Matrix, float[] Offset) RgbToYCbCrSingle = Single(ToYCbCr);

    /// <summary>
    /// <see cref="YCbCrToRgb"/>'s map in float32 for the fused 8-bit conversion (<c>ImageTensors.WriteFromLuma</c>): the
    /// 3x3 matrix row-major (rows R, G, B) and the 3 offsets.
    /// </summary>
    public static readonly (float[] Matrix, float[] Offset) YCbCrToRgbSingle = Single(ToRgb);

    private static (float[] Matrix, float[] Offset) Single((double[,] Matrix, double[] Offset) map) => (
        Enumerable.Range(0, 9).Select(k => (float)map.Matrix[k / 3, k % 3]).ToArray(),
        map.Offset.Select(v => (float)v).ToArray());

    /// <summary>[N, 3, H, W] RGB in [0,1] -> [N, 3, H, W] (Y, Cb, Cr) / 255; Y in [16/255, 235/255].</summary>
    /// <param name="rgb">RGB in [0, 1], [N, 3, H, W], any floating dtype and device.</param>
    /// <param name="fullRange">JFIF's full-range YCbCr instead (Y in [0, 1], Cb and Cr around 0.5; <see cref="SrChannels.Gray"/>).</param>
    /// <returns>(Y, Cb, Cr) / 255 with the same shape, dtype and device; differentiable.</returns>
    public static Tensor RgbToYCbCr(Tensor rgb, bool fullRange = false) => Apply(rgb, fullRange ? ToFullRangeYCbCr : ToYCbCr);

    /// <summary>Inverse of <see cref="RgbToYCbCr"/> (no clamping).</summary>
    /// <param name="ycbcr">(Y, Cb, Cr) / 255, [N, 3, H, W].</param>
    /// <returns>RGB (nominally in [0, 1]) with the same shape, dtype and device; differentiable.</returns>
    public static Tensor YCbCrToRgb(Tensor ycbcr) => Apply(ycbcr, ToRgb);

    /// <summary>The protocol's Y (16..235 scale, float64) of an 8-bit image, row-major.</summary>
    /// <param name="image">The image.</param>
    /// <returns>Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 per pixel (R, G, B the 8-bit values).</returns>
    public static double[] Luma(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int n = image.PlaneSize;
        var planes = image.Planes;
        var luma = new double[n];
        double kr = Forward[0, 0], kg = Forward[0, 1], kb = Forward[0, 2];
        for (int i = 0; i < n; i++)
            luma[i] = Offset[0] + (kr * planes[i] + kg * planes[n + i] + kb * planes[2 * n + i]) / 255;
        return luma;
    }

    /// <summary>Applies an affine colour map out_i = sum_j M[i, j] x_j + b_i along dimension 1 of [N, 3, H, W].</summary>
    /// <param name="x">The input, [N, 3, H, W].</param>
    /// <param name="map">The 3x3 matrix and the 3 offsets.</param>
    /// <returns>The mapped tensor, same shape, dtype and device.</returns>
    private static Tensor Apply(Tensor x, (double[,] Matrix, double[] Offset) map)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4 || x.shape[1] != 3)
            throw new ArgumentException($"Expected a [N, 3, H, W] tensor, got shape [{string.Join(", ", x.shape)}].", nameof(x));
        // One 3x3 matrix product over the flattened planes plus the offsets: two passes over the image (per-channel
        // multiply-adds were 18 passes over full-size planes: pipeline overhead for Y networks at large outputs).
        using var scope = NewDisposeScope();
        var weights = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                weights[3 * i + j] = map.Matrix[i, j];
        var matrix = tensor(weights, new long[] { 3, 3 }).to(x.dtype, x.device);
        var offset = tensor(map.Offset, new long[] { 1, 3, 1 }).to(x.dtype, x.device);
        return matrix.matmul(x.flatten(2)).PlusInPlace(offset).view(x.shape).MoveToOuterDisposeScope();
    }

    /// <summary>The forward map on the tensors' scale: Forward / 255 and Offset / 255.</summary>
    /// <returns>The matrix and offsets.</returns>
    private static (double[,] Matrix, double[] Offset) MakeForward()
    {
        var matrix = new double[3, 3];
        var offset = new double[3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
                matrix[i, j] = Forward[i, j] / 255;
            offset[i] = Offset[i] / 255;
        }

        return (matrix, offset);
    }

    /// <summary>Inverts an affine map y = A x + b: x = A^-1 y - A^-1 b (3x3 inverse by cofactors).</summary>
    /// <param name="map">The map to invert.</param>
    /// <returns>The inverse map.</returns>
    private static (double[,] Matrix, double[] Offset) Invert((double[,] Matrix, double[] Offset) map)
    {
        var a = map.Matrix;
        double determinant =
            a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
            - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]);
        var inverse = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                // inverse[i, j] = cofactor(j, i) / det; the cyclic index trick gives the signed 2x2 minor.
                int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
                inverse[i, j] = (a[r0, c0] * a[r1, c1] - a[r0, c1] * a[r1, c0]) / determinant;
            }
        }

        var offset = new double[3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                offset[i] -= inverse[i, j] * map.Offset[j];
        return (inverse, offset);
    }
}
