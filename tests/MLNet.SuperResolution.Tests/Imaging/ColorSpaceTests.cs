using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

public sealed class ColorSpaceTests
{
    private static float[] YCbCrOf(float r, float g, float b)
    {
        using var rgb = tensor(new[] { r, g, b }, new long[] { 1, 3, 1, 1 });
        using var ycbcr = ColorSpace.RgbToYCbCr(rgb);
        return ycbcr.data<float>().ToArray().Select(v => v * 255).ToArray();
    }

    [Fact]
    public void White_IsY235AndNeutralChroma()
    {
        var ycbcr = YCbCrOf(1, 1, 1);
        Assert.Equal(235, ycbcr[0], 1e-3);
        Assert.Equal(128, ycbcr[1], 1e-3);
        Assert.Equal(128, ycbcr[2], 1e-3);
    }

    [Fact]
    public void Black_IsY16AndNeutralChroma()
    {
        var ycbcr = YCbCrOf(0, 0, 0);
        Assert.Equal(16, ycbcr[0], 1e-4);
        Assert.Equal(128, ycbcr[1], 1e-4);
        Assert.Equal(128, ycbcr[2], 1e-4);
    }

    [Fact]
    public void PureRed_FollowsTheMatlabMatrix()
    {
        var ycbcr = YCbCrOf(1, 0, 0);
        Assert.Equal(16 + 65.481, ycbcr[0], 1e-3);
        Assert.Equal(128 - 37.797, ycbcr[1], 1e-3);
        Assert.Equal(128 + 112.0, ycbcr[2], 1e-3);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-12)]
    public void RoundTrip_RestoresTheRgb(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var rgb = rand(new long[] { 2, 3, 5, 4 }, dtype);
        var back = ColorSpace.YCbCrToRgb(ColorSpace.RgbToYCbCr(rgb));
        Assert.Equal(rgb.shape, back.shape);
        Assert.Equal(dtype, back.dtype);
        Assert.True(back.sub(rgb).abs().max().to(ScalarType.Float64).item<double>() < tolerance);
    }

    [Fact]
    public void RgbToYCbCr_RejectsOtherShapes()
    {
        using var gray = rand(new long[] { 1, 1, 4, 4 });
        Assert.Throws<ArgumentException>(() => ColorSpace.RgbToYCbCr(gray));
    }

    [Fact]
    public void Luma_MatchesTheFormulaOnAKnownPixel()
    {
        // Two pixels, row-major: (R, G, B) = (10, 200, 30) and (255, 255, 255).
        var image = new RgbImage(2, 1, new byte[] { 10, 255, 200, 255, 30, 255 });
        var luma = ColorSpace.Luma(image);
        Assert.Equal(2, luma.Length);
        Assert.Equal(16 + (65.481 * 10 + 128.553 * 200 + 24.966 * 30) / 255, luma[0], 1e-12);
        Assert.Equal(235, luma[1], 1e-12);
    }
}
