using System.Runtime.InteropServices;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// Receives one region of an 8-bit output image: <paramref name="planarRgb"/> holds its R plane, then G, then B, each
/// <paramref name="width"/> x <paramref name="height"/> bytes row-major, for the pixels at (<paramref name="left"/>,
/// <paramref name="top"/>) and onwards. Upscaling writes every output pixel exactly once, tile by tile, so the output can
/// be assembled in whatever buffer the caller returns (planar bytes, an ImageSharp image, BGRA bytes) without an
/// intermediate full-size copy. The span is valid only during the call.
/// </summary>
internal delegate void RgbRegionWriter(ReadOnlySpan<byte> planarRgb, int left, int top, int width, int height);

/// <summary>Assembles regions into planar RGB bytes (<see cref="RgbImage.Planes"/>'s layout).</summary>
internal sealed class PlanarRgbWriter(byte[] planes, int width, int height)
{
    /// <summary>The <see cref="RgbRegionWriter"/>.</summary>
    public void Write(ReadOnlySpan<byte> planarRgb, int left, int top, int w, int h)
    {
        CheckRegion(planarRgb, left, top, w, h, width, height);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                planarRgb.Slice((c * h + y) * w, w).CopyTo(planes.AsSpan(c * width * height + (top + y) * width + left, w));
    }

    /// <summary>Throws unless a region of <paramref name="w"/> x <paramref name="h"/> at (left, top) fits the image and the span holds its three planes.</summary>
    internal static void CheckRegion(ReadOnlySpan<byte> planarRgb, int left, int top, int w, int h, int width, int height)
    {
        if (left < 0 || top < 0 || w <= 0 || h <= 0 || left + w > width || top + h > height || planarRgb.Length != 3 * w * h)
            throw new ArgumentException($"A {w}x{h} region at ({left}, {top}) of {planarRgb.Length} bytes does not fit a {width}x{height} RGB image.");
    }
}

/// <summary>
/// Assembles regions into interleaved BGRA32 bytes (the layout of the <c>MLImage</c>s that <c>LoadImages</c> makes),
/// with alpha 255; <see cref="SetAlpha"/> puts an alpha plane in afterwards.
/// </summary>
internal sealed class Bgra32Writer(byte[] pixels, int width, int height)
{
    /// <summary>The <see cref="RgbRegionWriter"/>.</summary>
    public void Write(ReadOnlySpan<byte> planarRgb, int left, int top, int w, int h)
    {
        PlanarRgbWriter.CheckRegion(planarRgb, left, top, w, h, width, height);
        int n = w * h;
        ReadOnlySpan<byte> red = planarRgb[..n], green = planarRgb.Slice(n, n), blue = planarRgb.Slice(2 * n, n);
        for (int y = 0; y < h; y++)
        {
            // One 32-bit write per pixel: B, G, R, A from the lowest byte up (little-endian, as on every libtorch platform).
            var row = MemoryMarshal.Cast<byte, uint>(pixels.AsSpan(4 * ((top + y) * width + left), 4 * w));
            int start = y * w;
            for (int x = 0; x < row.Length; x++)
                row[x] = blue[start + x] | ((uint)green[start + x] << 8) | ((uint)red[start + x] << 16) | 0xFF000000u;
        }
    }

    /// <summary>Sets the alpha of every pixel from a row-major plane of width x height bytes.</summary>
    public void SetAlpha(byte[] alpha)
    {
        if (alpha.Length != width * height)
            throw new ArgumentException($"Expected {width * height} alpha bytes, got {alpha.Length}.", nameof(alpha));
        for (int i = 0; i < alpha.Length; i++)
            pixels[4 * i + 3] = alpha[i];
    }
}
