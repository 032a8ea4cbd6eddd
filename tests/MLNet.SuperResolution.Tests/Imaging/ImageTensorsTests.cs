using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>The image -> tensor conversion (vectorised in libtorch) gives exactly byte / 255f, whole image and regions.</summary>
public sealed class ImageTensorsTests
{
    private static RgbImage AllByteValues(int width, int height)
    {
        var planes = new byte[3 * width * height];
        for (int i = 0; i < planes.Length; i++)
            planes[i] = (byte)((i * 7) + (i / 256)); // every value 0..255 in every plane, in shuffled order
        return new RgbImage(width, height, planes);
    }

    [Fact]
    public void ToTensor_EqualsByteDividedBy255_ForEveryByteValue()
    {
        var image = AllByteValues(32, 24);
        using var t = ImageTensors.ToTensor(image);
        Assert.Equal(new long[] { 1, 3, 24, 32 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        var values = t.data<float>().ToArray();
        Assert.Equal(image.Planes.Length, values.Length);
        Assert.Equal(256, image.Planes.Distinct().Count());
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(image.Planes[i] / 255f, values[i]); // bit for bit, not approximately
    }

    [Fact]
    public void ToTensor_OfARegion_EqualsTheSliceOfTheWholeImage()
    {
        var image = AllByteValues(29, 17);
        using var whole = ImageTensors.ToTensor(image);
        using var region = ImageTensors.ToTensor(image, 5, 3, 11, 9);
        using var slice = whole.narrow(2, 3, 9).narrow(3, 5, 11);
        Assert.Equal(new long[] { 1, 3, 9, 11 }, region.shape);
        using var same = region.eq(slice).all();
        Assert.True(same.item<bool>());
    }

    [Fact]
    public void ToTensor_DoesNotShareMemoryWithTheImage()
    {
        var image = AllByteValues(8, 8);
        using var t = ImageTensors.ToTensor(image);
        float before = t[0, 0, 0, 1].item<float>();
        image.Planes[1] ^= 0xFF;
        Assert.Equal(before, t[0, 0, 0, 1].item<float>());
    }

    /// <summary>MATLAB's uint8 conversion of a float32 value in [0, 1]: clamp, times 255 (float32), round half away from zero.</summary>
    private static byte Reference(float value)
        => float.IsNaN(value) ? (byte)0 : (byte)Math.Round((double)(Math.Clamp(value, 0f, 1f) * 255f), MidpointRounding.AwayFromZero);

    [Fact]
    public void ToImage_RoundsHalfAwayFromZeroAndClamps_InTheVectorAndTheScalarPaths()
    {
        // 3 x 7 x 53 values (not a multiple of any vector width, so the scalar tail runs too): every k/255, values a
        // float step either side of every (k + 0.5)/255, out-of-range values and NaN.
        var values = new List<float>();
        for (int k = 0; k <= 255; k++)
        {
            float exact = k / 255f, half = (k + 0.5f) / 255f;
            values.AddRange(new[] { exact, half, MathF.BitDecrement(half), MathF.BitIncrement(half) });
        }

        values.AddRange(new[] { -1f, -1e-9f, 1.0000001f, 2f, float.NaN, float.PositiveInfinity, float.NegativeInfinity });
        int width = 53, height = 7, n = 3 * width * height;
        var data = Enumerable.Range(0, n).Select(i => values[(i * 31) % values.Count]).ToArray();
        using var t = tensor(data, new long[] { 1, 3, height, width });
        var image = ImageTensors.ToImage(t);
        for (int i = 0; i < n; i++)
            Assert.True(Reference(data[i]) == image.Planes[i], $"value {data[i]:R} at {i}: expected {Reference(data[i])}, got {image.Planes[i]}");
    }

    [Fact]
    public void Write_FromYCbCr_EqualsConvertingToRgbFirst()
    {
        // Random YCbCr of a photo-like range; the fused conversion must give the bytes of YCbCrToRgb then ToImage, up to
        // the last float bit of the colour map (a value on a rounding edge may land one level apart).
        const int width = 67, height = 45; // odd sizes: the scalar tail runs
        using var scope = NewDisposeScope();
        var rgb = ImageTensors.ToTensor(AllByteValues(width, height));
        var offGrid = arange(3L * width * height, ScalarType.Float32).sin().mul(0.004).view(1, 3, height, width); // off the 8-bit grid
        var ycbcr = ColorSpace.RgbToYCbCr(rgb.add(offGrid));
        var expected = ImageTensors.ToImage(ColorSpace.YCbCrToRgb(ycbcr));
        var actual = new byte[3 * width * height];
        ImageTensors.Write(ycbcr, new PlanarRgbWriter(actual, width, height).Write, 0, 0, fromYCbCr: true);
        int different = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.InRange(actual[i] - expected.Planes[i], -1, 1);
            different += actual[i] != expected.Planes[i] ? 1 : 0;
        }

        Assert.True(different <= actual.Length / 1000, $"{different} of {actual.Length} bytes differ");
        // And the round trip of 8-bit RGB through YCbCr comes back exactly.
        var back = new byte[3 * width * height];
        ImageTensors.Write(ColorSpace.RgbToYCbCr(rgb), new PlanarRgbWriter(back, width, height).Write, 0, 0, fromYCbCr: true);
        Assert.Equal(AllByteValues(width, height).Planes, back);
    }

    [Fact]
    public void Bgra32Writer_RegionByRegion_EqualsTheWholeImagesMLImage()
    {
        var image = AllByteValues(23, 13);
        var pixels = new byte[4 * 23 * 13];
        var writer = new Bgra32Writer(pixels, 23, 13);
        foreach (var (left, top, w, h) in new[] { (0, 0, 10, 13), (10, 0, 13, 6), (10, 6, 13, 7) })
        {
            var region = new byte[3 * w * h];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    Array.Copy(image.Planes, c * image.PlaneSize + (top + y) * 23 + left, region, (c * h + y) * w, w);
            writer.Write(region, left, top, w, h);
        }

        using var expected = image.ToMLImage();
        Assert.Equal(expected.Pixels.ToArray(), pixels);
        // And the layout itself: B, G, R, A = 255 per pixel (ToMLImage writes through the same writer).
        int n = image.PlaneSize;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(image.Planes[2 * n + i], pixels[4 * i]);
            Assert.Equal(image.Planes[n + i], pixels[4 * i + 1]);
            Assert.Equal(image.Planes[i], pixels[4 * i + 2]);
            Assert.Equal(255, pixels[4 * i + 3]);
        }
    }
}
