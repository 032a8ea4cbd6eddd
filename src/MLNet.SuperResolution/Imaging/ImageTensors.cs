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
    /// from zero (as MATLAB's uint8 conversion), the way a user would save the result.
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
    public static void Write(Tensor rgb, RgbRegionWriter write, int left, int top)
    {
        using var scope = NewDisposeScope();
        var (h, w) = Size(rgb);
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        // Rounding: values are >= 0 after clamping, so floor(x + 0.5) is round-half-away-from-zero.
        using var zero = 0.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        using var one = 1.ToScalar();
        using var max = 255.ToScalar();
        using var half = 0.5.ToScalar();
        // clamp makes the one float copy; the rest works in place on it (each out-of-place step cost a fresh buffer).
        var bytes = t.detach().to(ScalarType.Float32).cpu().clamp(zero, one).mul_(max).add_(half).floor_().to(ScalarType.Byte).contiguous();
        write(bytes.bytes, left, top, w, h);
    }

    private static (int Height, int Width) Size(Tensor rgb)
    {
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        if (t.dim() != 3 || t.shape[0] != 3)
            throw new ArgumentException($"Expected a 3-channel image tensor, got shape [{string.Join(", ", rgb.shape)}].", nameof(rgb));
        return ((int)t.shape[1], (int)t.shape[2]);
    }
}
