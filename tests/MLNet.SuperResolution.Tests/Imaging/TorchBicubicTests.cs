using MLNet.SuperResolution.Imaging;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

public sealed class TorchBicubicTests
{
    private readonly ITestOutputHelper _output;

    public TorchBicubicTests(ITestOutputHelper output) => _output = output;

    private static RgbImage RandomImage(int width, int height, int seed)
    {
        var planes = new byte[3 * width * height];
        new Random(seed).NextBytes(planes);
        return new RgbImage(width, height, planes);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Upscale_EqualsTheWeightMatricesAppliedOnTheCpu(int scale)
    {
        const int width = 7, height = 5;
        var image = RandomImage(width, height, seed: scale);
        using var input = ImageTensors.ToTensor(image);
        using var result = TorchBicubic.Upscale(input, scale);
        Assert.Equal(new long[] { 1, 3, height * scale, width * scale }, result.shape);
        Assert.Equal(ScalarType.Float32, result.dtype);
        var actual = result.data<float>().ToArray();

        var rows = MatlabImresize.WeightMatrix(height, height * scale);
        var columns = MatlabImresize.WeightMatrix(width, width * scale);
        int outWidth = width * scale, outHeight = height * scale;
        for (int c = 0; c < 3; c++)
        {
            for (int r = 0; r < outHeight; r++)
            {
                for (int q = 0; q < outWidth; q++)
                {
                    double expected = 0;
                    for (int i = 0; i < height; i++)
                        for (int j = 0; j < width; j++)
                            expected += rows[r, i] * image.Planes[c * width * height + i * width + j] / 255.0 * columns[q, j];
                    Assert.Equal(expected, actual[c * outWidth * outHeight + r * outWidth + q], 1e-5);
                }
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Upscale_DiffersFromThe8BitUpscaleOnlyByItsRounding(int scale)
    {
        // The 8-bit path rounds after the first pass (error <= 0.5 level), the second pass carries that error with
        // gain sum|w| (> 1 because of the negative lobes), then rounds again (<= 0.5 level). So the float result is
        // within (0.5 * max sum|w| + 0.5) / 255 of the 8-bit one, a little over one level, and almost always within one.
        const int width = 12, height = 9;
        var planes = new byte[3 * width * height];
        var random = new Random(42 + scale);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    planes[c * width * height + y * width + x] = (byte)(128 + 60 * Math.Sin(0.4 * x + c) * Math.Cos(0.3 * y) + random.Next(-20, 21));
        var image = new RgbImage(width, height, planes);

        var eightBit = MatlabImresize.Upscale(image, scale);
        using var input = ImageTensors.ToTensor(image);
        using var result = TorchBicubic.Upscale(input, scale);
        var actual = result.data<float>().ToArray();

        var columns = MatlabImresize.WeightMatrix(width, width * scale);
        double gain = Enumerable.Range(0, width * scale).Max(o => Enumerable.Range(0, width).Sum(i => Math.Abs(columns[o, i])));
        double bound = (0.5 * gain + 0.5) / 255 + 1e-6;
        double max = 0;
        int withinOneLevel = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double difference = Math.Abs(Math.Clamp(actual[i], 0, 1) - eightBit.Planes[i] / 255.0);
            max = Math.Max(max, difference);
            withinOneLevel += difference <= 1 / 255.0 + 1e-6 ? 1 : 0;
        }

        _output.WriteLine($"x{scale}: largest difference {max * 255:F4} levels (bound {bound * 255:F4}); {withinOneLevel / (double)actual.Length:P2} within one level");
        Assert.True(max <= bound, $"Largest difference {max * 255:F4} levels, bound {bound * 255:F4}.");
        Assert.True(withinOneLevel >= 0.99 * actual.Length, $"Only {withinOneLevel} of {actual.Length} values within one level.");
    }

    [Fact]
    public void Upscale_KeepsAConstantImageConstant()
    {
        using var input = full(new long[] { 2, 3, 6, 5 }, 0.3f);
        using var result = TorchBicubic.Upscale(input, 3);
        Assert.Equal(new long[] { 2, 3, 18, 15 }, result.shape);
        using var deviation = result.sub(0.3f).abs().max();
        Assert.True(deviation.item<float>() < 1e-6f);
    }

    [Fact]
    public void Upscale_KeepsFloat64()
    {
        using var input = rand(new long[] { 1, 1, 4, 6 }, ScalarType.Float64);
        using var result = TorchBicubic.Upscale(input, 2);
        Assert.Equal(ScalarType.Float64, result.dtype);
        Assert.Equal(new long[] { 1, 1, 8, 12 }, result.shape);
    }

    [Fact]
    public void Upscale_IsDifferentiable()
    {
        using var input = rand(new long[] { 1, 2, 5, 4 }).requires_grad_(true);
        using var result = TorchBicubic.Upscale(input, 2);
        using var loss = result.sum();
        loss.backward();
        using var grad = input.grad;
        Assert.NotNull(grad);
        Assert.Equal(input.shape, grad!.shape);
        // d(sum)/d(input) sums every output's weights: the rows of both matrices sum to 1.
        using var total = grad.sum();
        Assert.Equal(2 * 10 * 8, total.item<float>(), 3);
    }

    [Fact]
    public void Upscale_DoesNotLeakTensorsIntoTheCallersScope()
    {
        using var input = rand(new long[] { 1, 1, 8, 8 });
        using (TorchBicubic.Upscale(input, 2)) { }
        using var scope = NewDisposeScope();
        var result = TorchBicubic.Upscale(input, 2);
        Assert.Equal(1, scope.DisposablesCount);
        Assert.False(result.IsInvalid);
    }

    [Theory]
    [InlineData(1, 9, 4)]
    [InlineData(2, 37, 23)]
    [InlineData(3, 30, 41)]
    [InlineData(4, 1, 6)] // one-pixel side: every tap is clamped to the same sample
    [InlineData(8, 5, 3)]
    public void Upscale_EqualsTheDenseWeightMatricesInFloat64(int scale, int width, int height)
    {
        // Inference's banded computation (phase taps over a replicate-padded input; autograd off) and the autograd
        // form against Mh @ x @ Mw^T, borders included.
        using var input = rand(new long[] { 2, 2, height, width }, ScalarType.Float64);
        using var rows = DenseMatrix(height, scale);
        using var columns = DenseMatrix(width, scale);
        using var expected = rows.matmul(input).matmul(columns.t());
        using var withGradients = TorchBicubic.Upscale(input, scale);
        Tensor banded;
        using (no_grad())
            banded = TorchBicubic.Upscale(input, scale);
        using (banded)
        {
            foreach (var (name, result) in new[] { ("banded", banded), ("autograd", withGradients) })
            {
                using var difference = result.sub(expected).abs().max();
                Assert.True(difference.item<double>() < 1e-12, $"{name} x{scale} {width}x{height}: max difference {difference.item<double>():E2}");
            }
        }
    }

    [Fact]
    public void Upscale_InferenceAndAutogradFormsAgreeInFloat32()
    {
        using var input = rand(new long[] { 1, 2, 64, 48 });
        using var withGradients = TorchBicubic.Upscale(input, 2);
        using var noGrad = no_grad();
        using var banded = TorchBicubic.Upscale(input, 2);
        using var difference = banded.sub(withGradients).abs().max();
        Assert.True(difference.item<float>() < 1e-6f, $"max difference {difference.item<float>():E2}");
    }

    [Fact]
    public void Upscale_ForInferenceHoldsNoCacheForNewSizes()
    {
        long before = TorchBicubic.CachedBytes;
        using var input = rand(new long[] { 1, 2, 301, 517 });
        using var noGrad = no_grad(); // inference: the banded form, no matrices
        using (TorchBicubic.Upscale(input, 3)) { }
        Assert.Equal(before, TorchBicubic.CachedBytes);
    }

    private static Tensor DenseMatrix(int length, int scale)
    {
        var weights = MatlabImresize.WeightMatrix(length, length * scale);
        var flat = new double[weights.Length];
        Buffer.BlockCopy(weights, 0, flat, 0, flat.Length * sizeof(double));
        return tensor(flat, new long[] { length * scale, length });
    }

    [Fact]
    public void Cache_StaysWithinItsBudget_AndEvictedMatricesAreRebuiltIdentically()
    {
        // Tall, thin images downscaled by 2: the row matrices ([L/2, L] and its transpose, float32: 4 L^2 bytes,
        // 13-17 MB here) outgrow the 64 MiB budget after a few lengths; the 4-pixel width costs nothing.
        var lengths = Enumerable.Range(0, 8).Select(i => 1800 + 40 * i).ToArray();
        Assert.True(lengths.Sum(l => 4L * l * l) > TorchBicubic.CacheBudgetBytes);
        using var first = rand(new long[] { 1, 1, lengths[0], 4 });
        using var expected = TorchBicubic.Downscale(first, 2);
        foreach (int length in lengths)
        {
            using var input = rand(new long[] { 1, 1, length, 4 });
            using var result = TorchBicubic.Downscale(input, 2);
            Assert.Equal(new long[] { 1, 1, length / 2, 2 }, result.shape);
            Assert.InRange(TorchBicubic.CachedBytes, 1, TorchBicubic.CacheBudgetBytes);
        }

        using var again = TorchBicubic.Downscale(first, 2); // its matrix was evicted (least recently used) and is rebuilt
        Assert.Equal(expected.data<float>().ToArray(), again.data<float>().ToArray());
    }

    [Fact]
    public void Cache_DoesNotKeepAMatrixLargerThanItsBudget()
    {
        // A 4200-pixel side downscaled by 2: 2 x 2100 x 4200 float32 = 71 MB > 64 MiB; used for its call, then dropped.
        using var input = full(new long[] { 1, 1, 4200, 4 }, 0.25f);
        long before = TorchBicubic.CachedBytes;
        using var result = TorchBicubic.Downscale(input, 2);
        Assert.True(TorchBicubic.CachedBytes <= Math.Max(before, 0) + 2L * 2 * 4 * 4, "only the width's small matrix may be added");
        using var deviation = result.sub(0.25f).abs().max();
        Assert.True(deviation.item<float>() < 1e-6f);
    }
}
