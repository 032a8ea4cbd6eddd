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

    [Fact]
    public void Rgba_IsReadWithItsOwnChannelOrder()
    {
        var rgba = RandomPixels(4 * 3, opaque: false);
        using var image = MLImage.CreateFromPixels(4, 3, MLPixelFormat.Rgba32, rgba);
        var rgb = RgbImage.FromMLImage(image);
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal((rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]),
                (rgb.Planes[i], rgb.Planes[12 + i], rgb.Planes[24 + i], rgb.Alpha![i]));
        }
    }
}
