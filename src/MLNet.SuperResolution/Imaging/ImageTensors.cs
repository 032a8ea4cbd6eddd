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
        CheckRegion(image, left, top, width, height);
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
    /// The <paramref name="width"/> x <paramref name="height"/> region at (<paramref name="left"/>, <paramref name="top"/>)
    /// of an 8-bit image as a Y network's input: Y / 255 as a float32 [1, 1, height, width] tensor, and Cb / 255, Cr / 255
    /// in <paramref name="chroma"/> (the caller disposes it) for <see cref="WriteFromLuma"/>. One vectorised pass from the
    /// bytes (byte / 255, then <see cref="ColorSpace.RgbToYCbCr"/>'s map in float32), where the tensor path took a
    /// conversion, a division, a 3x3 product and its offsets over full-size float planes. With <paramref name="fullRange"/>,
    /// JFIF's full-range luma and chroma instead (<see cref="SrChannels.Gray"/>).
    /// </summary>
    public static Tensor ToLuma(RgbImage image, int left, int top, int width, int height, Device? device, out ChromaPlanes chroma, bool fullRange = false)
    {
        var map = fullRange ? ColorSpace.FullRangeRgbToYCbCrSingle : ColorSpace.RgbToYCbCrSingle;
        CheckRegion(image, left, top, width, height);
        var luma = empty(new long[] { 1, 1, height, width }, ScalarType.Float32);
        var planes = new ChromaPlanes(left, top, width, height);
        try
        {
            var y = MemoryMarshal.Cast<byte, float>(luma.bytes);
            var source = image.Planes.AsSpan();
            for (int row = 0; row < height; row++)
            {
                int start = (top + row) * image.Width + left, at = row * width;
                RgbToYCbCr(source.Slice(start, width), source.Slice(image.PlaneSize + start, width), source.Slice(2 * image.PlaneSize + start, width),
                    y.Slice(at, width), planes.Cb.Slice(at, width), planes.Cr.Slice(at, width), map);
            }
        }
        catch
        {
            planes.Dispose();
            luma.Dispose();
            throw;
        }

        chroma = planes;
        return device is null || device.type == DeviceType.CPU ? luma : luma.to(device);
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
    /// an output image: how tiled inference writes each tile straight into the caller's output buffer.
    /// </summary>
    public static void Write(Tensor planes, RgbRegionWriter write, int left, int top)
    {
        using var scope = NewDisposeScope();
        var (h, w) = Size(planes);
        var t = planes.dim() == 4 ? planes[0] : planes;
        // One vectorised pass from the float planes to bytes (clamp, x255, rounding), instead of five libtorch passes
        // over full-size float buffers, each faulting in fresh pages (docs/performance.md).
        var floats = t.detach().to(ScalarType.Float32).cpu().contiguous();
        ReadOnlySpan<float> source = MemoryMarshal.Cast<byte, float>(floats.bytes);
        using var buffer = new PooledArray<byte>(3 * h * w);
        Quantize(source, buffer.Span);
        write(buffer.Span, left, top, w, h);
    }

    /// <summary>
    /// A Y network's output to 8-bit RGB: <paramref name="luma"/> is Y / 255 of the region at (<paramref name="left"/>,
    /// <paramref name="top"/>) of the output, [1, 1, h, w] (or [1, h, w]) with h and w multiples of
    /// <paramref name="scale"/>; <paramref name="chroma"/> holds the LR Cb/Cr of an LR region containing that region's
    /// source (<see cref="ToLuma"/>), which are upscaled with MATLAB bicubic row by row; each output row is then converted
    /// to RGB (<see cref="ColorSpace.YCbCrToRgb"/>'s map in float32) and to bytes as <see cref="ToImage"/> does, in one
    /// vectorised pass, and the planar bytes go to <paramref name="write"/>. With <paramref name="fullRange"/>, JFIF's
    /// full-range inverse instead (<see cref="SrChannels.Gray"/>).
    /// </summary>
    public static void WriteFromLuma(Tensor luma, ChromaPlanes chroma, int scale, RgbRegionWriter write, int left, int top, bool fullRange = false)
    {
        var map = fullRange ? ColorSpace.FullRangeYCbCrToRgbSingle : ColorSpace.YCbCrToRgbSingle;
        using var scope = NewDisposeScope();
        var t = luma.dim() == 4 ? luma[0] : luma;
        if (t.dim() != 3 || t.shape[0] != 1)
            throw new ArgumentException($"Expected a 1-channel image tensor, got shape [{string.Join(", ", luma.shape)}].", nameof(luma));
        int h = (int)t.shape[1], w = (int)t.shape[2], n = h * w;
        if (scale < 1 || h % scale != 0 || w % scale != 0 || left % scale != 0 || top % scale != 0)
            throw new ArgumentException($"A {w}x{h} output region at ({left}, {top}) is not whole LR pixels at x{scale}.", nameof(luma));
        var floats = t.detach().to(ScalarType.Float32).cpu().contiguous();
        ReadOnlySpan<float> y = MemoryMarshal.Cast<byte, float>(floats.bytes);
        using var rows = chroma.Upscale(scale, left / scale, top / scale, w / scale, h / scale);
        using var scratch = new PooledArray<float>(2 * w);
        using var buffer = new PooledArray<byte>(3 * n);
        Span<float> cb = scratch.Span[..w], cr = scratch.Span[w..];
        var bytes = buffer.Span;
        for (int row = 0, at = 0; row < h; row++, at += w)
        {
            rows.Row(row, cb, cr);
            YCbCrToBytes(y.Slice(at, w), cb, cr, bytes.Slice(at, w), bytes.Slice(n + at, w), bytes.Slice(2 * n + at, w), map);
        }

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

    /// <summary>YCbCr / 255 to 8-bit R, G, B (<see cref="ColorSpace.YCbCrToRgbSingle"/>, then <see cref="Quantize(float)"/>), all spans one length.</summary>
    private static void YCbCrToBytes(ReadOnlySpan<float> y, ReadOnlySpan<float> cb, ReadOnlySpan<float> cr, Span<byte> r, Span<byte> g, Span<byte> b,
        (float[] Matrix, float[] Offset) map)
    {
        var (m, offset) = map;
        int n = y.Length, i = 0, count = Vector<float>.Count, step = 4 * count;
        if (cb.Length != n || cr.Length != n || r.Length != n || g.Length != n || b.Length != n)
            throw new ArgumentException($"Y has {n} values but Cb, Cr, R, G, B have {cb.Length}, {cr.Length}, {r.Length}, {g.Length}, {b.Length}."); // the loads below are unchecked
        if (Vector.IsHardwareAccelerated)
        {
            // The map's 12 constants broadcast once per row; per step 4 vectors of each channel, packed into one byte vector.
            Vector<float> r0 = new(m[0]), r1 = new(m[1]), r2 = new(m[2]), rOffset = new(offset[0]);
            Vector<float> g0 = new(m[3]), g1 = new(m[4]), g2 = new(m[5]), gOffset = new(offset[1]);
            Vector<float> b0 = new(m[6]), b1 = new(m[7]), b2 = new(m[8]), bOffset = new(offset[2]);
            ref float luma = ref MemoryMarshal.GetReference(y), blue = ref MemoryMarshal.GetReference(cb), red = ref MemoryMarshal.GetReference(cr);
            Span<Vector<float>> vy = stackalloc Vector<float>[4], vcb = stackalloc Vector<float>[4], vcr = stackalloc Vector<float>[4];
            for (; i <= n - step; i += step)
            {
                for (int k = 0; k < 4; k++)
                {
                    vy[k] = Vector.LoadUnsafe(ref luma, (nuint)(i + k * count));
                    vcb[k] = Vector.LoadUnsafe(ref blue, (nuint)(i + k * count));
                    vcr[k] = Vector.LoadUnsafe(ref red, (nuint)(i + k * count));
                }

                Pack(r0 * vy[0] + r1 * vcb[0] + r2 * vcr[0] + rOffset, r0 * vy[1] + r1 * vcb[1] + r2 * vcr[1] + rOffset,
                    r0 * vy[2] + r1 * vcb[2] + r2 * vcr[2] + rOffset, r0 * vy[3] + r1 * vcb[3] + r2 * vcr[3] + rOffset).CopyTo(r.Slice(i, step));
                Pack(g0 * vy[0] + g1 * vcb[0] + g2 * vcr[0] + gOffset, g0 * vy[1] + g1 * vcb[1] + g2 * vcr[1] + gOffset,
                    g0 * vy[2] + g1 * vcb[2] + g2 * vcr[2] + gOffset, g0 * vy[3] + g1 * vcb[3] + g2 * vcr[3] + gOffset).CopyTo(g.Slice(i, step));
                Pack(b0 * vy[0] + b1 * vcb[0] + b2 * vcr[0] + bOffset, b0 * vy[1] + b1 * vcb[1] + b2 * vcr[1] + bOffset,
                    b0 * vy[2] + b1 * vcb[2] + b2 * vcr[2] + bOffset, b0 * vy[3] + b1 * vcb[3] + b2 * vcr[3] + bOffset).CopyTo(b.Slice(i, step));
            }
        }

        for (; i < n; i++)
        {
            r[i] = Quantize(m[0] * y[i] + m[1] * cb[i] + m[2] * cr[i] + offset[0]);
            g[i] = Quantize(m[3] * y[i] + m[4] * cb[i] + m[5] * cr[i] + offset[1]);
            b[i] = Quantize(m[6] * y[i] + m[7] * cb[i] + m[8] * cr[i] + offset[2]);
        }
    }

    /// <summary>
    /// 8-bit R, G, B to Y, Cb, Cr / 255: byte / 255 (IEEE division, as <see cref="ToTensor(RgbImage, Device?)"/>), then
    /// <see cref="ColorSpace.RgbToYCbCrSingle"/>; the vector path and the scalar tail do the same operations.
    /// </summary>
    private static void RgbToYCbCr(ReadOnlySpan<byte> r, ReadOnlySpan<byte> g, ReadOnlySpan<byte> b, Span<float> y, Span<float> cb, Span<float> cr,
        (float[] Matrix, float[] Offset) map)
    {
        var (m, offset) = map;
        int n = r.Length, i = 0, count = Vector<float>.Count, step = Vector<byte>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            // The map's 12 constants broadcast once per row, as in YCbCrToBytes.
            Vector<float> y0 = new(m[0]), y1 = new(m[1]), y2 = new(m[2]), yOffset = new(offset[0]);
            Vector<float> cb0 = new(m[3]), cb1 = new(m[4]), cb2 = new(m[5]), cbOffset = new(offset[1]);
            Vector<float> cr0 = new(m[6]), cr1 = new(m[7]), cr2 = new(m[8]), crOffset = new(offset[2]);
            Span<Vector<float>> vr = stackalloc Vector<float>[4], vg = stackalloc Vector<float>[4], vb = stackalloc Vector<float>[4];
            for (; i <= n - step; i += step)
            {
                Floats(new Vector<byte>(r.Slice(i, step)), vr);
                Floats(new Vector<byte>(g.Slice(i, step)), vg);
                Floats(new Vector<byte>(b.Slice(i, step)), vb);
                for (int k = 0; k < 4; k++)
                {
                    int at = i + k * count;
                    (vr[k] * y0 + vg[k] * y1 + vb[k] * y2 + yOffset).CopyTo(y.Slice(at, count));
                    (vr[k] * cb0 + vg[k] * cb1 + vb[k] * cb2 + cbOffset).CopyTo(cb.Slice(at, count));
                    (vr[k] * cr0 + vg[k] * cr1 + vb[k] * cr2 + crOffset).CopyTo(cr.Slice(at, count));
                }
            }
        }

        for (; i < n; i++)
        {
            float fr = r[i] / 255f, fg = g[i] / 255f, fb = b[i] / 255f;
            y[i] = fr * m[0] + fg * m[1] + fb * m[2] + offset[0];
            cb[i] = fr * m[3] + fg * m[4] + fb * m[5] + offset[1];
            cr[i] = fr * m[6] + fg * m[7] + fb * m[8] + offset[2];
        }

        // Four float vectors (in order) of one byte vector, each divided by 255.
        static void Floats(Vector<byte> bytes, Span<Vector<float>> floats)
        {
            Vector.Widen(bytes, out Vector<ushort> low, out Vector<ushort> high);
            Vector.Widen(low, out Vector<uint> first, out Vector<uint> second);
            Vector.Widen(high, out Vector<uint> third, out Vector<uint> fourth);
            var max = new Vector<float>(255f);
            floats[0] = Vector.ConvertToSingle(first) / max;
            floats[1] = Vector.ConvertToSingle(second) / max;
            floats[2] = Vector.ConvertToSingle(third) / max;
            floats[3] = Vector.ConvertToSingle(fourth) / max;
        }
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

    private static void CheckRegion(RgbImage image, int left, int top, int width, int height)
    {
        if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > image.Width || top + height > image.Height)
            throw new ArgumentException($"A {width}x{height} region at ({left}, {top}) does not fit a {image.Width}x{image.Height} image.");
    }

    private static (int Height, int Width) Size(Tensor rgb)
    {
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        if (t.dim() != 3 || t.shape[0] != 3)
            throw new ArgumentException($"Expected a 3-channel image tensor, got shape [{string.Join(", ", rgb.shape)}].", nameof(rgb));
        return ((int)t.shape[1], (int)t.shape[2]);
    }
}
