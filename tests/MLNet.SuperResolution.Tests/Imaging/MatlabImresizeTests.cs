using MLNet.SuperResolution.Imaging;
using Xunit.Abstractions;

namespace MLNet.SuperResolution.Tests.Imaging;

public sealed class MatlabImresizeTests
{
    private readonly ITestOutputHelper _output;

    public MatlabImresizeTests(ITestOutputHelper output) => _output = output;

    [SkippableTheory]
    [InlineData("Set5", 2)]
    [InlineData("Set5", 3)]
    [InlineData("Set5", 4)]
    [InlineData("Set14", 2)]
    [InlineData("Set14", 3)]
    [InlineData("Set14", 4)]
    public void Downscale_ReproducesTheMatlabLowResolutionFiles(string set, int scale)
    {
        var agreement = PixelAgreement.Measure(BenchmarkImages.Pairs(set, scale).Select(p => (MatlabImresize.Downscale(p.Hr, scale), p.Lr)));
        _output.WriteLine($"{set} x{scale}: {agreement}");
        agreement.AssertReproducesMatlab();
    }

    [Fact]
    public void Downscale_RejectsSizesThatAreNotMultiplesOfTheFactor()
    {
        var image = new RgbImage(10, 9, new byte[3 * 10 * 9]);
        var error = Assert.Throws<ArgumentException>(() => MatlabImresize.Downscale(image, 2));
        Assert.Contains("10x9", error.Message);
        Assert.Contains("multiple", error.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void ResizeKeepsAConstantImageAndItsAlphaConstant(int factor)
    {
        int width = 6 * factor, height = 4 * factor;
        var planes = new byte[3 * width * height];
        Array.Fill(planes, (byte)200, 0, width * height);
        Array.Fill(planes, (byte)7, width * height, width * height);
        Array.Fill(planes, (byte)255, 2 * width * height, width * height);
        var alpha = Enumerable.Repeat((byte)128, width * height).ToArray();
        var image = new RgbImage(width, height, planes, alpha);

        var small = MatlabImresize.Downscale(image, factor);
        var large = MatlabImresize.Upscale(image, factor);

        Assert.Equal((6, 4), (small.Width, small.Height));
        Assert.Equal((width * factor, height * factor), (large.Width, large.Height));
        foreach (var resized in new[] { small, large })
        {
            int n = resized.PlaneSize;
            Assert.All(resized.Planes.Take(n), v => Assert.Equal(200, v));
            Assert.All(resized.Planes.Skip(n).Take(n), v => Assert.Equal(7, v));
            Assert.All(resized.Planes.Skip(2 * n), v => Assert.Equal(255, v));
            Assert.NotNull(resized.Alpha);
            Assert.All(resized.Alpha!, v => Assert.Equal(128, v));
        }
    }

    [Theory]
    [InlineData(7, 14)]
    [InlineData(5, 20)]
    [InlineData(12, 6)]
    [InlineData(255, 85)]
    [InlineData(16, 4)]
    [InlineData(9, 9)]
    public void WeightMatrix_RowsSumToOne(int inLength, int outLength)
    {
        var matrix = MatlabImresize.WeightMatrix(inLength, outLength);
        Assert.Equal(outLength, matrix.GetLength(0));
        Assert.Equal(inLength, matrix.GetLength(1));
        for (int o = 0; o < outLength; o++)
        {
            double sum = 0;
            for (int i = 0; i < inLength; i++)
                sum += matrix[o, i];
            Assert.Equal(1.0, sum, 1e-12);
        }
    }

    [Fact]
    public void WeightMatrix_AtScaleOneIsTheIdentity()
    {
        var matrix = MatlabImresize.WeightMatrix(5, 5);
        for (int o = 0; o < 5; o++)
            for (int i = 0; i < 5; i++)
                Assert.Equal(o == i ? 1.0 : 0.0, matrix[o, i], 1e-15);
    }

    [Fact]
    public void WeightMatrix_UpscaleByTwoHasMatlabsInteriorWeights()
    {
        // imresize x2: output sample 5 (1-based) sits at u = 2.75, non-zero taps at 1-based 1..4, distances 1.75, 0.75, -0.25, -1.25.
        var matrix = MatlabImresize.WeightMatrix(8, 16);
        double[] expected = { -0.0234375, 0.2265625, 0.8671875, -0.0703125 };
        for (int k = 0; k < 4; k++)
            Assert.Equal(expected[k], matrix[4, k], 1e-15);
    }
}
