using System.Runtime.InteropServices;
using Microsoft.ML.Data;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// An 8-bit RGB image in planar (channel, row, column) layout, with optional alpha, owned by managed memory.
/// This is the project's one in-memory image type: <see cref="MLImage"/> values are copied into it at once
/// (an <see cref="MLImage"/> dies with its cursor), and tensors are made from it in <see cref="ImageTensors"/>.
/// </summary>
internal sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] planes, byte[]? alpha = null)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive, got {width}x{height}.");
        if (planes.Length != 3 * width * height)
            throw new ArgumentException($"Expected {3 * width * height} bytes for a {width}x{height} RGB image, got {planes.Length}.", nameof(planes));
        if (alpha is not null && alpha.Length != width * height)
            throw new ArgumentException($"Expected {width * height} alpha bytes, got {alpha.Length}.", nameof(alpha));
        Width = width;
        Height = height;
        Planes = planes;
        Alpha = alpha;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>R plane, then G, then B; each row-major, <c>Width * Height</c> bytes.</summary>
    public byte[] Planes { get; }

    /// <summary>Alpha plane, or null when the image is fully opaque.</summary>
    public byte[]? Alpha { get; }

    public int PlaneSize => Width * Height;

    /// <summary>Where the image came from (the MLImage's tag: a file path for images from LoadImages), for messages.</summary>
    public string? Source { get; init; }

    /// <summary>Copies the pixels out of an <see cref="MLImage"/> (BGRA32 or RGBA32).</summary>
    public static RgbImage FromMLImage(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height, n = width * height;
        ReadOnlySpan<byte> pixels = image.Pixels;
        if (pixels.Length < 4 * n)
            throw new InvalidOperationException($"MLImage of {width}x{height} holds {pixels.Length} bytes; expected 4 bytes per pixel.");
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        if (!bgra && image.PixelFormat != MLPixelFormat.Rgba32)
            throw new NotSupportedException($"MLImage pixel format {image.PixelFormat} is not supported; expected Bgra32 or Rgba32.");

        var planes = new byte[3 * n];
        var alpha = new byte[n];
        // One 32-bit read per pixel (little-endian, as on every platform libtorch runs on: byte 0 is the lowest).
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(pixels[..(4 * n)]);
        Span<byte> red = planes.AsSpan(0, n), green = planes.AsSpan(n, n), blue = planes.AsSpan(2 * n, n);
        int redShift = bgra ? 16 : 0, blueShift = bgra ? 0 : 16;
        uint alphaAnd = 0xFF;
        for (int i = 0; i < words.Length; i++)
        {
            uint word = words[i];
            red[i] = (byte)(word >> redShift);
            green[i] = (byte)(word >> 8);
            blue[i] = (byte)(word >> blueShift);
            byte a = (byte)(word >> 24);
            alpha[i] = a;
            alphaAnd &= a;
        }

        bool opaque = alphaAnd == 0xFF;
        return new RgbImage(width, height, planes, opaque ? null : alpha) { Source = string.IsNullOrEmpty(image.Tag) ? null : image.Tag };
    }

    /// <summary>Makes a new BGRA32 <see cref="MLImage"/> (the format <c>LoadImages</c> produces).</summary>
    public MLImage ToMLImage()
    {
        var pixels = new byte[4 * PlaneSize];
        var writer = new Bgra32Writer(pixels, Width, Height);
        writer.Write(Planes, 0, 0, Width, Height);
        if (Alpha is not null)
            writer.SetAlpha(Alpha);
        return MLImage.CreateFromPixels(Width, Height, MLPixelFormat.Bgra32, pixels);
    }

    /// <summary>The top-left <paramref name="width"/> x <paramref name="height"/> region (the protocol's crop).</summary>
    public RgbImage Crop(int width, int height)
    {
        if (width > Width || height > Height || width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Cannot crop a {Width}x{Height} image to {width}x{height}.");
        if (width == Width && height == Height)
            return this;
        var planes = new byte[3 * width * height];
        byte[]? alpha = Alpha is null ? null : new byte[width * height];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                Array.Copy(Planes, c * PlaneSize + y * Width, planes, c * width * height + y * width, width);
        if (alpha is not null)
            for (int y = 0; y < height; y++)
                Array.Copy(Alpha!, y * Width, alpha, y * width, width);
        return new RgbImage(width, height, planes, alpha) { Source = Source };
    }

    /// <summary>Crops to the largest size that is a multiple of <paramref name="scale"/> (top-left kept).</summary>
    public RgbImage CropToMultipleOf(int scale) => Crop(Width - Width % scale, Height - Height % scale);
}
