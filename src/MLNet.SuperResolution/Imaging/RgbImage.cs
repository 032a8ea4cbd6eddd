using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
        int start = Deinterleave(pixels[..(4 * n)], bgra ? blue : red, green, bgra ? red : blue, alpha, ref alphaAnd);
        for (int i = start; i < words.Length; i++)
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

    /// <summary>
    /// Splits the first pixels of 4-byte pixels into the planes of their bytes 0, 1, 2 and 3, 16 pixels at a time (SSSE3
    /// byte shuffle, then a 4 x 4 transpose of 32-bit groups), and folds their alpha into <paramref name="alphaAnd"/>;
    /// returns how many pixels it did (0 without SSSE3; the caller's scalar loop does the rest).
    /// </summary>
    private static int Deinterleave(ReadOnlySpan<byte> pixels, Span<byte> byte0, Span<byte> byte1, Span<byte> byte2, Span<byte> byte3, ref uint alphaAnd)
    {
        if (!Ssse3.IsSupported || !BitConverter.IsLittleEndian)
            return 0;
        // Per 4 pixels: bytes 0 of each, then bytes 1, 2, 3 (4 x 4 bytes).
        var gather = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        var alphaAll = Vector128<byte>.AllBitsSet;
        int n = byte0.Length, i = 0;
        for (; i <= n - 16; i += 16)
        {
            var block = pixels.Slice(4 * i, 64);
            var v0 = Ssse3.Shuffle(Vector128.Create(block[..16]), gather).AsUInt32();
            var v1 = Ssse3.Shuffle(Vector128.Create(block.Slice(16, 16)), gather).AsUInt32();
            var v2 = Ssse3.Shuffle(Vector128.Create(block.Slice(32, 16)), gather).AsUInt32();
            var v3 = Ssse3.Shuffle(Vector128.Create(block.Slice(48, 16)), gather).AsUInt32();
            var low01 = Sse2.UnpackLow(v0, v1).AsUInt64();   // bytes 0 of pixels 0-3, 4-7; bytes 1 of 0-3, 4-7
            var high01 = Sse2.UnpackHigh(v0, v1).AsUInt64(); // bytes 2 and 3 likewise
            var low23 = Sse2.UnpackLow(v2, v3).AsUInt64();
            var high23 = Sse2.UnpackHigh(v2, v3).AsUInt64();
            Sse2.UnpackLow(low01, low23).AsByte().CopyTo(byte0.Slice(i, 16));
            Sse2.UnpackHigh(low01, low23).AsByte().CopyTo(byte1.Slice(i, 16));
            Sse2.UnpackLow(high01, high23).AsByte().CopyTo(byte2.Slice(i, 16));
            var alphas = Sse2.UnpackHigh(high01, high23).AsByte();
            alphas.CopyTo(byte3.Slice(i, 16));
            alphaAll &= alphas;
        }

        if (alphaAll != Vector128<byte>.AllBitsSet)
            alphaAnd = 0; // not opaque: only the all-255 test reads it
        return i;
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
