using Microsoft.ML;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Tests.Architectures;
using TorchSharp;
using static MLNet.SuperResolution.Tests.Inference.InferenceTestNetworks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// <see cref="SrInferenceOptions.ChannelsLast"/> gives the float32 result (to rounding); <see cref="SrPrecision.BFloat16"/>
/// runs a bfloat16 copy of the network (close to float32, not equal; the float32 network is left as it was), and with
/// the default weights changes Set5 PSNR by less than 0.05 dB; on a CPU without native bfloat16 it runs float32 and
/// says so.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class PrecisionAndLayoutTests(ITestOutputHelper output)
{
    private static Tensor Input(int channels, int size = 20)
    {
        using var generator = new Generator(5);
        return rand(new long[] { 1, channels, size, size - 4 }, generator: generator);
    }

    public static TheoryData<SrArchitecture, SrChannels, int> EveryNetwork()
    {
        var data = new TheoryData<SrArchitecture, SrChannels, int>();
        foreach (var architecture in Enum.GetValues<SrArchitecture>().Where(a => a != SrArchitecture.Bicubic))
        {
            var descriptor = NetworkFactory.Describe(architecture);
            foreach (var channels in new[] { SrChannels.Y, SrChannels.Rgb }) // RGB: pre-upsampling networks restore channels-last after interpolating
                data.Add(architecture, channels, descriptor.Scales.Contains(2) ? 2 : descriptor.Scales[0]);
        }

        return data;
    }

    /// <summary>
    /// Channels-last is the CPU's automatic layout, so every network of the zoo is checked in it: the same result as
    /// the contiguous NCHW layout to float rounding, and the default options give exactly the channels-last result.
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryNetwork))]
    public void ChannelsLast_EqualsTheNchwLayout_AndIsTheCpuDefault(SrArchitecture architecture, SrChannels channels, int scale)
    {
        using var scope = NewDisposeScope();
        var input = Input(channels.NetworkChannels());
        using var nchw = new SrUpscaler(architecture, scale, channels, Build(architecture, scale, SrPreset.Notes, channels), CPU,
            new SrInferenceOptions { ChannelsLast = false });
        using var nhwc = new SrUpscaler(architecture, scale, channels, Build(architecture, scale, SrPreset.Notes, channels), CPU,
            new SrInferenceOptions { ChannelsLast = true });
        using var automatic = new SrUpscaler(architecture, scale, channels, Build(architecture, scale, SrPreset.Notes, channels), CPU);
        using var noGrad = no_grad();
        var expected = nchw.Forward(input);
        var actual = nhwc.Forward(input);
        double difference = (actual - expected).abs().max().item<float>();
        double scaleOfValues = expected.abs().max().item<float>();
        output.WriteLine($"{architecture} {channels} x{scale}: max |channels-last - NCHW| = {difference:E2} (outputs up to {scaleOfValues:F2})");
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(difference < 1e-5 * Math.Max(1, scaleOfValues), $"{difference}");
        Assert.True(automatic.Forward(input).eq(actual).all().item<bool>(), "the default options on the CPU should run channels-last");
    }

    [Theory]
    [InlineData(SrArchitecture.EdsrBaseline, SrChannels.Rgb, false)]
    [InlineData(SrArchitecture.EdsrBaseline, SrChannels.Rgb, true)]
    [InlineData(SrArchitecture.Espcn, SrChannels.Y, false)]
    public void BFloat16_IsCloseButNotEqual_AndLeavesTheFloat32NetworkAlone(SrArchitecture architecture, SrChannels channels, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        var input = Input(channels.NetworkChannels());
        var network = Build(architecture, 2, SrPreset.Notes, channels);
        using var plain = new SrUpscaler(architecture, 2, channels, Build(architecture, 2, SrPreset.Notes, channels), CPU,
            new SrInferenceOptions { ChannelsLast = false }); // the NCHW float32 result, as network.forward gives it
        using var bf16 = new SrUpscaler(architecture, 2, channels, network, CPU,
            new SrInferenceOptions { Precision = SrPrecision.BFloat16, ChannelsLast = channelsLast }, nativeBFloat16: true); // the bfloat16 path on any CPU
        Assert.Equal(SrPrecision.BFloat16, bf16.Precision);
        using var noGrad = no_grad();
        var expected = plain.Forward(input);
        var actual = bf16.Forward(input);
        double difference = (actual - expected).abs().max().item<float>();
        output.WriteLine($"{architecture}: max |bf16 - float32| = {difference:E2}");
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.InRange(difference, 1e-5, 0.05);
        Assert.All(network.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        double again = (plain.Forward(input) - network.forward(input)).abs().max().item<float>();
        Assert.Equal(0, again); // the float32 network still gives the float32 result
    }

    [Fact]
    public void AnUpscalerWithItsOwnOptions_DisposesItsBFloat16Copy_NotTheTransformersNetwork()
    {
        var ml = new MLContext(seed: 1);
        using var transformer = TestModels.Random(ml, SrArchitecture.Espcn, 2, SrChannels.Rgb, seed: 3);
        using var input = Input(3);
        var upscaler = SuperResolutionUpscaler.FromTransformer(transformer, new SrInferenceOptions { Precision = SrPrecision.BFloat16 });
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(8, 6))
        using (var upscaled = upscaler.Upscale(image)) // makes the bfloat16 copy
            Assert.Equal(16, upscaled.Width);
        using (var noGrad = no_grad())
        using (var output = transformer.Upscaler.Forward(input))
        {
            upscaler.Dispose();
            using var again = transformer.Upscaler.Forward(input); // the transformer's network is still alive and unchanged
            Assert.Equal(0, (again - output).abs().max().item<float>());
        }
    }

    [Theory]
    [InlineData(SrPrecision.Float32, DeviceType.CPU, false, SrPrecision.Float32)]
    [InlineData(SrPrecision.Float32, DeviceType.CPU, true, SrPrecision.Float32)]
    [InlineData(SrPrecision.BFloat16, DeviceType.CPU, true, SrPrecision.BFloat16)]
    [InlineData(SrPrecision.BFloat16, DeviceType.CPU, false, SrPrecision.Float32)]
    [InlineData(SrPrecision.BFloat16, DeviceType.CUDA, false, SrPrecision.BFloat16)]
    public void BFloat16_RunsAsFloat32_OnlyOnACpuWithoutNativeBFloat16(SrPrecision requested, DeviceType device, bool nativeBFloat16, SrPrecision expected)
        => Assert.Equal(expected, SrUpscaler.EffectivePrecision(requested, device, nativeBFloat16));

    [SkippableFact]
    public void NativeBFloat16_IsWhatTheKernelReportsForThisCpu()
    {
        var flags = CpuInfo.FlagsOrSkip();
        bool reported = flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
        output.WriteLine($"/proc/cpuinfo: avx512_bf16 {flags.Contains("avx512_bf16")}, amx_bf16 {flags.Contains("amx_bf16")}; CpuFeatures.NativeBFloat16 {CpuFeatures.NativeBFloat16}");
        Assert.Equal(reported, CpuFeatures.NativeBFloat16);
    }

    [Fact]
    public void BFloat16_OnACpuWithoutIt_GivesTheFloat32Result_AndWarnsInTheLog()
    {
        using var scope = NewDisposeScope();
        var input = Input(3);
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message); };
        var network = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        using var plain = new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb), CPU);
        var upscaler = new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, network, CPU,
            new SrInferenceOptions { Precision = SrPrecision.BFloat16 }, nativeBFloat16: false);
        using var transformer = new SuperResolutionTransformer(ml, "SuperRes", "LowRes", upscaler,
            SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes), "cpu", "cpu", trainingSummary: null);
        Assert.Equal(SrPrecision.Float32, upscaler.Precision);
        Assert.Equal(SrPrecision.BFloat16, upscaler.Inference.Precision); // what the model saves is what was asked
        Assert.Contains(warnings, w => w.Contains("no native bfloat16", StringComparison.Ordinal));
        using var noGrad = no_grad();
        Assert.Equal(0, (upscaler.Forward(input) - plain.Forward(input)).abs().max().item<float>());
    }

    [SkippableFact]
    public void BFloat16_WithTheDefaultModel_ChangesSet5PsnrByLessThan005dB()
    {
        Skip.IfNot(SrDefaultModel.Scales.Contains(3), "no default x3 weights embedded");
        var ml = new MLContext(seed: 1);
        var loaded = BenchmarkSets.Load(ml, "Set5", 3);
        double Psnr(SrInferenceOptions inference) => ml.SuperResolution().Evaluate(
            ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", 3, inference: inference).Fit(loaded).Transform(loaded), 3, "HighRes", "SuperRes").Psnr;
        double float32 = Psnr(new SrInferenceOptions());
        double bf16 = Psnr(new SrInferenceOptions { Precision = SrPrecision.BFloat16, ChannelsLast = true });
        output.WriteLine($"Set5 x3 default model: float32 {float32:F4} dB, bfloat16 + channels-last {bf16:F4} dB ({bf16 - float32:+0.0000;-0.0000} dB); " +
            $"native bfloat16: {CpuFeatures.NativeBFloat16}");
        if (CpuFeatures.NativeBFloat16)
        {
            Assert.NotEqual(float32, bf16);
            Assert.InRange(bf16 - float32, -0.05, 0.05);
        }
        else
        {
            Assert.Equal(float32, bf16); // the pipeline ran float32: no native bfloat16 on this CPU
        }
    }
}
