using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>MLImage (BGRA32 / RGBA32) to planar RGB + alpha and back, byte for byte.</summary>
public sealed class RgbImageTests
{
    private static byte[] RandomPixels(int count, bool opaque)
    {
        var bytes = new byte[4 * count];
        new Random(3).NextBytes(bytes);
        if (opaque)
            for (int i = 3; i < bytes.Length; i += 4)
                bytes[i] = 255;
        return bytes;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bgra_RoundTripsThroughPlanes(bool opaque)
    {
        var bgra = RandomPixels(7 * 5, opaque);
        using var image = MLImage.CreateFromPixels(7, 5, MLPixelFormat.Bgra32, bgra);
        var rgb = RgbImage.FromMLImage(image);
        int n = 35;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(bgra[4 * i + 2], rgb.Planes[i]);
            Assert.Equal(bgra[4 * i + 1], rgb.Planes[n + i]);
            Assert.Equal(bgra[4 * i], rgb.Planes[2 * n + i]);
        }

        Assert.Equal(opaque, rgb.Alpha is null);
        using var back = rgb.ToMLImage();
        Assert.Equal(MLPixelFormat.Bgra32, back.PixelFormat);
        Assert.Equal(bgra, back.Pixels.ToArray());
    }

    [Theory]
    [InlineData(4, 3)]  // 12 pixels: the scalar loop only
    [InlineData(37, 1)] // 37 pixels: two 16-pixel vector blocks and a scalar tail
    public void Rgba_IsReadWithItsOwnChannelOrder(int width, int height)
    {
        int n = width * height;
        var rgba = RandomPixels(n, opaque: false);
        using var image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Rgba32, rgba);
        var rgb = RgbImage.FromMLImage(image);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal((rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]),
                (rgb.Planes[i], rgb.Planes[n + i], rgb.Planes[2 * n + i], rgb.Alpha![i]));
        }
    }

    [Theory]
    [InlineData(0)]  // in the first vector block
    [InlineData(17)] // in the second
    [InlineData(33)] // in the scalar tail
    public void OneTranslucentPixel_AnywhereInTheRow_KeepsTheAlphaPlane(int translucent)
    {
        var bgra = RandomPixels(35, opaque: true);
        bgra[4 * translucent + 3] = 254;
        using var image = MLImage.CreateFromPixels(35, 1, MLPixelFormat.Bgra32, bgra);
        var rgb = RgbImage.FromMLImage(image);
        Assert.NotNull(rgb.Alpha);
        Assert.Equal(254, rgb.Alpha![translucent]);
        Assert.Equal(34, rgb.Alpha.Count(a => a == 255));
    }
}
