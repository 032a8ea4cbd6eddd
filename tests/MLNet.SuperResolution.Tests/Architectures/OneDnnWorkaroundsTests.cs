using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Inference;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// Where the channel padding of the oneDNN workaround layers runs (<see cref="OneDnnWorkarounds"/>): CPU tensors on a
/// CPU with AVX-512 (or not x86). Where it does not run, the plain kernels must be right: checked here on the machine
/// itself; where the bugs reproduce, the padding must be on (ConvolutionBackwardTests, ChannelPaddedConvTranspose2dTests).
/// </summary>
[Collection(TorchRngCollection.Name)]
public class OneDnnWorkaroundsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(DeviceType.CPU, true, null, true)]
    [InlineData(DeviceType.CPU, false, null, false)]
    [InlineData(DeviceType.CPU, false, true, true)]
    [InlineData(DeviceType.CPU, true, false, false)]
    [InlineData(DeviceType.CUDA, true, null, false)]
    [InlineData(DeviceType.CUDA, true, true, false)]
    public void PaddingRuns_OnCpuTensors_WhereTheCpuNeedsItOrItIsForced(DeviceType device, bool cpuNeedsThem, bool? forced, bool expected)
        => Assert.Equal(expected, OneDnnWorkarounds.Rule(device, cpuNeedsThem, forced));

    [SkippableFact]
    public void CpuNeedsThem_ExactlyWhereTheKernelReportsAvx512()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.Intrinsics.X86.X86Base.IsSupported && File.Exists("/proc/cpuinfo"), "needs Linux on x86 (/proc/cpuinfo)");
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        bool avx512 = flags.Contains("avx512f");
        output.WriteLine($"/proc/cpuinfo avx512f: {avx512}; CpuFeatures.Avx512Foundation {CpuFeatures.Avx512Foundation}; OneDnnWorkarounds.CpuNeedsThem {OneDnnWorkarounds.CpuNeedsThem}");
        Assert.Equal(avx512, CpuFeatures.Avx512Foundation);
        Assert.Equal(avx512, OneDnnWorkarounds.CpuNeedsThem);
    }

    [Fact]
    public void Force_HoldsUntilDisposed_AndNests()
    {
        using var cpu = zeros(1);
        bool automatic = OneDnnWorkarounds.AppliesTo(cpu);
        Assert.Equal(OneDnnWorkarounds.CpuNeedsThem, automatic);
        using (OneDnnWorkarounds.Force(!automatic))
        {
            Assert.Equal(!automatic, OneDnnWorkarounds.AppliesTo(cpu));
            using (OneDnnWorkarounds.Force(automatic))
                Assert.Equal(automatic, OneDnnWorkarounds.AppliesTo(cpu));
            Assert.Equal(!automatic, OneDnnWorkarounds.AppliesTo(cpu));
        }

        Assert.Equal(automatic, OneDnnWorkarounds.AppliesTo(cpu));
    }

    /// <summary>
    /// On a CPU where the padding is off, the shapes the workarounds exist for must be right with the plain kernels:
    /// batched input gradients with output channels not a multiple of 16, forwards with odd input channels, the
    /// one-channel transposed convolution at stride 2 and 4. Repeated, as the backward bug was intermittent.
    /// </summary>
    [SkippableFact]
    public void WhereThePaddingIsOff_ThePlainKernelsAreRight()
    {
        Skip.If(OneDnnWorkarounds.CpuNeedsThem, "this CPU has AVX-512 (or is not x86): the padding is on here, and ConvolutionBackwardTests shows why.");
        using var scope = NewDisposeScope();
        random.manual_seed(21);
        double worst = 0;
        void Check(string what, Tensor single, Tensor exact)
        {
            double error = ((single.to(float64) - exact).abs().max() / exact.abs().max()).item<double>();
            output.WriteLine($"{what}: relative max error {error:E2}");
            worst = double.IsNaN(error) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, error);
        }

        foreach (int outChannels in new[] { 1, 3, 4, 12, 27 })
        {
            for (int repeat = 0; repeat < 4; repeat++)
            {
                var x = randn(16, 32, 12, 10, float64).requires_grad_(true);
                var w = randn(outChannels, 32, 3, 3, float64);
                var g = randn(16, outChannels, 12, 10, float64);
                var exact = autograd.grad([nn.functional.conv2d(x, w, padding: [1, 1])], [x], [g])[0];
                var x32 = x.detach().to(float32).requires_grad_(true);
                var single = autograd.grad([nn.functional.conv2d(x32, w.to(float32), padding: [1, 1])], [x32], [g.to(float32)])[0];
                Check($"conv2d input gradient, batch 16, 32 -> {outChannels}", single, exact);
            }
        }

        foreach (int inChannels in new[] { 20, 56, 100 })
        {
            var x = randn(2, inChannels, 16, 20, float64);
            var w = randn(16, inChannels, 3, 3, float64);
            Check($"conv2d forward, {inChannels} -> 16", nn.functional.conv2d(x.to(float32), w.to(float32), padding: [1, 1]), nn.functional.conv2d(x, w, padding: [1, 1]));
        }

        foreach (long stride in new long[] { 2, 4 })
        {
            var x = randn(1, 56, 24, 20, float64);
            var w = randn(56, 1, 9, 9, float64) * 0.05;
            long[] s = [stride, stride], p = [4, 4], op = [stride - 1, stride - 1], d = [1, 1];
            Check($"conv_transpose2d, 56 -> 1, 9x9, stride {stride}",
                nn.functional.conv_transpose2d(x.to(float32), w.to(float32), null, s, p, op, d, 1), nn.functional.conv_transpose2d(x, w, null, s, p, op, d, 1));
        }

        Assert.True(worst < 1e-4, $"a plain float32 kernel is wrong on this CPU (worst relative error {worst:E2}), where OneDnnWorkarounds leaves the padding off: its rule needs this CPU.");
    }
}
