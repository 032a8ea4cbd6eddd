using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>The one place where images become tensors and tensors become images.</summary>
internal static class ImageTensors
{
    /// <summary>An 8-bit image as a float32 [1, 3, H, W] tensor with values in [0, 1] (byte / 255).</summary>
    public static Tensor ToTensor(RgbImage image, Device? device = null)
        => ToTensor(image, 0, 0, image.Width, image.Height, device);

    /// <summary>
    /// The <paramref name="width"/> x <paramref name="height"/> region at (<paramref name="left"/>, <paramref name="top"/>)
    /// of an 8-bit image as a float32 [1, 3, height, width] tensor in [0, 1], with the same values as the whole
    /// image's <see cref="ToTensor(RgbImage, Device?)"/> there: how tiled inference reads a large input one tile at a
    /// time instead of holding it as floats.
    /// </summary>
    public static Tensor ToTensor(RgbImage image, int left, int top, int width, int height, Device? device = null)
    {
        if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > image.Width || top + height > image.Height)
            throw new ArgumentException($"A {width}x{height} region at ({left}, {top}) does not fit a {image.Width}x{image.Height} image.");
        // Bytes are copied row by row (memcpy), and the byte -> float conversion and the division run in libtorch's
        // vectorised kernels: the result equals byte / 255f in managed code (IEEE division both ways; a test checks
        // all 256 values), at a fraction of the cost of a per-pixel managed loop.
        byte[] bytes;
        if (left == 0 && top == 0 && width == image.Width && height == image.Height)
        {
            bytes = image.Planes;
        }
        else
        {
            bytes = new byte[3 * width * height];
            for (int c = 0, i = 0; c < 3; c++)
                for (int y = 0; y < height; y++, i += width)
                    image.Planes.AsSpan(c * image.PlaneSize + (top + y) * image.Width + left, width).CopyTo(bytes.AsSpan(i, width));
        }

        using var max = 255f.ToScalar();
        using var u8 = tensor(bytes, new long[] { 1, 3, height, width });
        var cpu = u8.to(ScalarType.Float32).div_(max);
        return device is null || device.type == DeviceType.CPU ? cpu : cpu.to(device);
    }

    /// <summary>
    /// A [1, 3, H, W] (or [3, H, W]) tensor in [0, 1] as an 8-bit image: clamped, times 255, rounded half away
    /// from zero (as MATLAB's uint8 conversion; <see cref="Quantize(float)"/>), the way a user would save the result.
    /// </summary>
    public static RgbImage ToImage(Tensor rgb, byte[]? alpha = null)
    {
        var (height, width) = Size(rgb);
        var planes = new byte[3 * height * width];
        CopyInto(rgb, planes, width, height, 0, 0);
        return new RgbImage(width, height, planes, alpha);
    }

    /// <summary>
    /// Writes a [1, 3, h, w] (or [3, h, w]) tensor in [0, 1], converted to 8 bits as <see cref="ToImage"/> does, into
    /// the region at (<paramref name="left"/>, <paramref name="top"/>) of planar RGB bytes of a
    /// <paramref name="width"/> x <paramref name="height"/> image.
    /// </summary>
    public static void CopyInto(Tensor rgb, byte[] planes, int width, int height, int left, int top)
    {
        if (planes.Length != 3 * width * height)
            throw new ArgumentException($"{planes.Length} bytes are not a {width}x{height} RGB image.", nameof(planes));
        Write(rgb, new PlanarRgbWriter(planes, width, height).Write, left, top);
    }

    /// <summary>
    /// Converts a [1, 3, h, w] (or [3, h, w]) tensor in [0, 1] to 8 bits as <see cref="ToImage"/> does and hands the
    /// planar bytes to <paramref name="write"/> as the region at (<paramref name="left"/>, <paramref name="top"/>) of
    /// an output image: how tiled inference writes each tile straight into the caller's output buffer. With
    /// <paramref name="fromYCbCr"/> the tensor holds (Y, Cb, Cr) / 255 (<see cref="ColorSpace.RgbToYCbCr"/>'s scale) and
    /// is converted to RGB on the way, as <see cref="ColorSpace.YCbCrToRgb"/> would (same map, float32).
    /// </summary>
    public static void Write(Tensor planes, RgbRegionWriter write, int left, int top, bool fromYCbCr = false)
    {
        using var scope = NewDisposeScope();
        var (h, w) = Size(planes);
        var t = planes.dim() == 4 ? planes[0] : planes;
        // One vectorised pass from the float planes to bytes (colour map, clamp, x255, rounding), instead of five to
        // seven libtorch passes over full-size float buffers, each faulting in fresh pages (docs/performance.md).
        var floats = t.detach().to(ScalarType.Float32).cpu().contiguous();
        int n = h * w;
        ReadOnlySpan<float> source = MemoryMarshal.Cast<byte, float>(floats.bytes);
        using var buffer = new PooledBytes(3 * n);
        var bytes = buffer.Span;
        if (fromYCbCr)
            YCbCrToBytes(source, bytes, n);
        else
            Quantize(source, bytes);
        write(bytes, left, top, w, h);
    }

    /// <summary>
    /// The 8-bit value of one float in [0, 1]: clamped, times 255 (in float32), rounded half away from zero (as MATLAB's
    /// uint8 conversion); NaN becomes 0. The rounding adds one when the fraction is at least one half (exact in float32),
    /// not floor(x + 0.5), which rounds the float just below 0.5 up. The vector path does the same operations, so both
    /// paths give the same bytes.
    /// </summary>
    internal static byte Quantize(float value)
    {
        float clamped = value >= 0f ? (value <= 1f ? value : 1f) : 0f; // NaN fails both comparisons: 0
        float product = clamped * 255f;
        int whole = (int)product; // positive: truncation is floor
        return (byte)(whole + (product - whole >= 0.5f ? 1 : 0));
    }

    private static void Quantize(ReadOnlySpan<float> source, Span<byte> bytes)
    {
        int i = 0, step = 4 * Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= source.Length - step; i += step)
            {
                var v = MemoryMarshal.Cast<float, Vector<float>>(source.Slice(i, step));
                Pack(v[0], v[1], v[2], v[3]).CopyTo(bytes.Slice(i, step));
            }
        }

        for (; i < source.Length; i++)
            bytes[i] = Quantize(source[i]);
    }

    private static void YCbCrToBytes(ReadOnlySpan<float> source, Span<byte> bytes, int n)
    {
        var (m, b) = ColorSpace.YCbCrToRgbSingle;
        ReadOnlySpan<float> y = source[..n], cb = source.Slice(n, n), cr = source.Slice(2 * n, n);
        int i = 0, count = Vector<float>.Count, step = 4 * count;
        if (Vector.IsHardwareAccelerated)
        {
            Span<Vector<float>> channel = stackalloc Vector<float>[4];
            for (; i <= n - step; i += step)
            {
                var vy = MemoryMarshal.Cast<float, Vector<float>>(y.Slice(i, step));
                var vcb = MemoryMarshal.Cast<float, Vector<float>>(cb.Slice(i, step));
                var vcr = MemoryMarshal.Cast<float, Vector<float>>(cr.Slice(i, step));
                for (int c = 0; c < 3; c++)
                {
                    Vector<float> m0 = new(m[3 * c]), m1 = new(m[3 * c + 1]), m2 = new(m[3 * c + 2]), offset = new(b[c]);
                    for (int k = 0; k < 4; k++)
                        channel[k] = m0 * vy[k] + m1 * vcb[k] + m2 * vcr[k] + offset;
                    Pack(channel[0], channel[1], channel[2], channel[3]).CopyTo(bytes.Slice(c * n + i, step));
                }
            }
        }

        for (; i < n; i++)
            for (int c = 0; c < 3; c++)
                bytes[c * n + i] = Quantize(m[3 * c] * y[i] + m[3 * c + 1] * cb[i] + m[3 * c + 2] * cr[i] + b[c]);
    }

    /// <summary><see cref="Quantize(float)"/> of four float vectors, packed into one byte vector (in order).</summary>
    private static Vector<byte> Pack(Vector<float> a, Vector<float> b, Vector<float> c, Vector<float> d)
    {
        var low = Vector.Narrow(Bytes(a), Bytes(b));
        var high = Vector.Narrow(Bytes(c), Bytes(d));
        return Vector.Narrow(low, high);

        static Vector<uint> Bytes(Vector<float> v)
        {
            var clamped = Vector.Min(Vector.Max(v, Vector<float>.Zero), Vector<float>.One);
            var product = Vector.ConditionalSelect(Vector.Equals(v, v), clamped, Vector<float>.Zero) * new Vector<float>(255f); // NaN: 0
            var whole = Vector.ConvertToInt32(product);
            var roundUp = Vector.GreaterThanOrEqual(product - Vector.ConvertToSingle(whole), new Vector<float>(0.5f)); // -1 where true
            return Vector.AsVectorUInt32(whole - roundUp);
        }
    }

    private static (int Height, int Width) Size(Tensor rgb)
    {
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        if (t.dim() != 3 || t.shape[0] != 3)
            throw new ArgumentException($"Expected a 3-channel image tensor, got shape [{string.Join(", ", rgb.shape)}].", nameof(rgb));
        return ((int)t.shape[1], (int)t.shape[2]);
    }
}
