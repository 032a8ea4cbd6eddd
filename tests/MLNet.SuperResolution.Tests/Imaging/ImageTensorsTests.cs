using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>
/// The image -> tensor conversion (vectorised in libtorch) gives exactly byte / 255f, whole image and regions; the Y
/// networks' fused paths (bytes -> Y and LR Cb/Cr; Y + bicubic Cb/Cr -> bytes) agree with the tensor colour maps.
/// </summary>
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
    public void ToLuma_EqualsTheTensorColourMap_ForEveryByteValue_WholeImageAndRegions()
    {
        // 67 x 45: rows that are not a multiple of the vector width, so the scalar tail runs on every row.
        var image = AllByteValues(67, 45);
        using var scope = NewDisposeScope();
        var expected = ColorSpace.RgbToYCbCr(ImageTensors.ToTensor(image));
        foreach (var (left, top, width, height) in new[] { (0, 0, 67, 45), (5, 3, 40, 11), (66, 44, 1, 1) })
        {
            var y = ImageTensors.ToLuma(image, left, top, width, height, null, out var chroma);
            using (chroma)
            {
                Assert.Equal(new long[] { 1, 1, height, width }, y.shape);
                Assert.Equal((left, top, width, height), (chroma.Left, chroma.Top, chroma.Width, chroma.Height));
                var region = expected.narrow(2, top, height).narrow(3, left, width);
                // The 3x3 product may sum in another order (or fused): a few float steps apart, no more.
                AssertClose(region.narrow(1, 0, 1).flatten().data<float>().ToArray(), y.data<float>().ToArray(), 1e-6f);
                AssertClose(region.narrow(1, 1, 1).flatten().data<float>().ToArray(), chroma.Cb.ToArray(), 1e-6f);
                AssertClose(region.narrow(1, 2, 1).flatten().data<float>().ToArray(), chroma.Cr.ToArray(), 1e-6f);
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"at {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void WriteFromLuma_AtScaleOne_EqualsConvertingToRgbFirst_AndRoundTripsEightBitRgb()
    {
        // Random YCbCr of a photo-like range; the fused conversion must give the bytes of YCbCrToRgb then ToImage, up to
        // the last float bit of the colour map (a value on a rounding edge may land one level apart).
        const int width = 67, height = 45; // odd sizes: the scalar tail runs
        using var scope = NewDisposeScope();
        var image = AllByteValues(width, height);
        var y = ImageTensors.ToLuma(image, 0, 0, width, height, null, out var chroma);
        using (chroma)
        {
            // 8-bit RGB through Y, Cb, Cr comes back exactly.
            var back = new byte[3 * width * height];
            ImageTensors.WriteFromLuma(y, chroma, 1, new PlanarRgbWriter(back, width, height).Write, 0, 0);
            Assert.Equal(image.Planes, back);

            // Off the 8-bit grid: within one level of the tensor path, and rarely apart at all.
            var offGrid = arange((long)width * height, ScalarType.Float32).sin().mul(0.004).view(1, 1, height, width);
            var shifted = y.add(offGrid);
            var cbcr = cat(new[] { tensor(chroma.Cb.ToArray(), new long[] { 1, 1, height, width }), tensor(chroma.Cr.ToArray(), new long[] { 1, 1, height, width }) }, 1);
            var expected = ImageTensors.ToImage(ColorSpace.YCbCrToRgb(cat(new[] { shifted, cbcr }, 1)));
            var actual = new byte[3 * width * height];
            ImageTensors.WriteFromLuma(shifted, chroma, 1, new PlanarRgbWriter(actual, width, height).Write, 0, 0);
            PixelAgreement.AssertWithinOneLevel(expected.Planes, actual, 0.001);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void WriteFromLuma_UpscalesCbCrAsTorchBicubic_WholeImageAndTileCores(int scale)
    {
        // The Y network's colour path: Cb/Cr upscaled with MATLAB bicubic (TorchBicubic, the tensor form), Y from the
        // network, converted to RGB bytes. Tile cores with 3 LR pixels of context, and cores at the image's edges (where
        // the bicubic clamps), give the bytes of the whole image's conversion there.
        const int width = 37, height = 23;
        using var scope = NewDisposeScope();
        var image = AllByteValues(width, height);
        var rgb = ImageTensors.ToTensor(image);
        var ycbcr = ColorSpace.RgbToYCbCr(rgb);
        Tensor upscaledCbCr;
        using (no_grad())
            upscaledCbCr = TorchBicubic.Upscale(ycbcr.narrow(1, 1, 2), scale);
        var hrY = arange((long)width * height * scale * scale, ScalarType.Float32).mul(0.37).sin().mul(0.3).add(0.5)
            .view(1, 1, height * scale, width * scale);
        var expected = ImageTensors.ToImage(ColorSpace.YCbCrToRgb(cat(new[] { hrY, upscaledCbCr }, 1)));
        int outWidth = width * scale, outHeight = height * scale;

        var actual = new byte[3 * outWidth * outHeight];
        var writer = new PlanarRgbWriter(actual, outWidth, outHeight);
        using (ImageTensors.ToLuma(image, 0, 0, width, height, null, out var whole))
        using (whole)
            ImageTensors.WriteFromLuma(hrY, whole, scale, writer.Write, 0, 0);
        PixelAgreement.AssertWithinOneLevel(expected.Planes, actual, 0.001);

        // Cores (LR left, top, width, height) in tiles with context (clamped to the image), covering the image once.
        var tiled = new byte[actual.Length];
        var tiledWriter = new PlanarRgbWriter(tiled, outWidth, outHeight);
        foreach (var (left, top, w, h) in new[] { (0, 0, 10, 8), (10, 0, 27, 8), (0, 8, 20, 15), (20, 8, 17, 15) })
        {
            const int context = MatlabImresize.UpscaleReach;
            int contextLeft = Math.Max(0, left - context), contextTop = Math.Max(0, top - context);
            int contextRight = Math.Min(width, left + w + context), contextBottom = Math.Min(height, top + h + context);
            using var luma = ImageTensors.ToLuma(image, contextLeft, contextTop, contextRight - contextLeft, contextBottom - contextTop, null, out var chroma);
            using (chroma)
            {
                var core = hrY.narrow(2, (long)top * scale, (long)h * scale).narrow(3, (long)left * scale, (long)w * scale);
                ImageTensors.WriteFromLuma(core, chroma, scale, tiledWriter.Write, left * scale, top * scale);
            }
        }

        Assert.Equal(actual, tiled); // the same taps on the same values: the tiles give exactly the whole image's bytes
    }

    [Fact]
    public void WriteFromLuma_RejectsACoreOutsideItsChromaRegion()
    {
        var image = AllByteValues(16, 12);
        using var scope = NewDisposeScope();
        var luma = ImageTensors.ToLuma(image, 4, 4, 8, 6, null, out var chroma);
        using (chroma)
        {
            var hr = zeros(1, 1, 12, 16);
            var error = Assert.Throws<ArgumentException>(() => ImageTensors.WriteFromLuma(hr, chroma, 2, (_, _, _, _, _) => { }, 0, 0));
            Assert.Contains("does not fit the 8x6 chroma region at (4, 4)", error.Message);
            Assert.Throws<ArgumentException>(() => ImageTensors.WriteFromLuma(zeros(1, 1, 3, 4), chroma, 2, (_, _, _, _, _) => { }, 8, 8));
        }
    }

    [Fact]
    public void Bgra32Writer_RegionByRegion_EqualsTheWholeImagesMLImage()
    {
        // 45 wide, regions 10 and 35 wide: rows with 16-pixel vector blocks and a scalar tail, and rows with a tail only.
        const int width = 45;
        var image = AllByteValues(width, 13);
        var pixels = new byte[4 * width * 13];
        var writer = new Bgra32Writer(pixels, width, 13);
        foreach (var (left, top, w, h) in new[] { (0, 0, 10, 13), (10, 0, 35, 6), (10, 6, 35, 7) })
        {
            var region = new byte[3 * w * h];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    Array.Copy(image.Planes, c * image.PlaneSize + (top + y) * width + left, region, (c * h + y) * w, w);
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
