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
        var flags = CpuInfo.FlagsOrSkip();
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
        void Check(string what, double error)
        {
            output.WriteLine($"{what}: relative max error {error:E2}");
            worst = double.IsNaN(error) || double.IsNaN(worst) ? double.NaN : Math.Max(worst, error);
        }

        foreach (int outChannels in new[] { 1, 3, 4, 12, 27 })
        {
            for (int repeat = 0; repeat < 4; repeat++) // fresh data each time: the backward bug was intermittent
                Check($"conv2d input gradient, batch 16, 32 -> {outChannels}", ConvolutionBackwardTests.GradInputRelativeError(16, 32, outChannels, 12, 10));
        }

        foreach (int inChannels in new[] { 20, 56, 100 })
        {
            var x = randn(2, inChannels, 16, 20, float64);
            var w = randn(16, inChannels, 3, 3, float64);
            Check($"conv2d forward, {inChannels} -> 16",
                Float64Reference.RelativeMaxError(nn.functional.conv2d(x.to(float32), w.to(float32), padding: [1, 1]), nn.functional.conv2d(x, w, padding: [1, 1])));
        }

        foreach (int stride in new[] { 2, 4 })
            Check($"conv_transpose2d, 56 -> 1, 9x9, stride {stride}", ChannelPaddedConvTranspose2dTests.PlainFloat32RelativeError(1, stride));

        Assert.True(worst < 1e-4, $"a plain float32 kernel is wrong on this CPU (worst relative error {worst:E2}), where OneDnnWorkarounds leaves the padding off: its rule needs this CPU.");
    }
}
