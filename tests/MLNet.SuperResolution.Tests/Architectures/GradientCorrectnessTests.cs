using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// Training needs right gradients. On the development CPUs oneDNN's float32 conv input-gradient is wrong for layers
/// whose output channels are not a multiple of 16 (ConvolutionBackwardTests); ChannelPaddedConv2d routes around it there
/// (OneDnnWorkarounds: a CPU with AVX-512; each layer test also forces the padded path, so it runs on every machine). These tests
/// compare float32 gradients with float64 ones, on batches, for the block and for whole networks.
/// </summary>
[Collection(TorchRngCollection.Name)]
public class GradientCorrectnessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(8, false)]
    [InlineData(12, false)]
    [InlineData(16, false)]
    [InlineData(27, false)]
    [InlineData(56, false)]
    [InlineData(1, true)]
    [InlineData(4, true)]
    [InlineData(27, true)]
    public void PaddedConvolutionGradientsMatchFloat64OnBatches(int outChannels, bool forcePadding)
    {
        // forcePadding: the padded path on every machine; otherwise the path this CPU takes (OneDnnWorkarounds).
        using var forced = forcePadding ? OneDnnWorkarounds.Force(true) : null;
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var layer = ChannelPaddedConv2d.Create(32, outChannels, 3, padding: 1);
        var input = randn(16, 32, 12, 10);
        var upstream = randn(16, outChannels, 12, 10);
        var exact = ForwardAndBackward(layer, input, upstream, float64);
        var single = ForwardAndBackward(layer, input, upstream, float32);
        double inputError = Float64Reference.RelativeMaxError(single.Input, exact.Input), weightError = Float64Reference.RelativeMaxError(single.Weight, exact.Weight);
        output.WriteLine($"32 -> {outChannels}, batch 16: input-gradient error {inputError:E2}, weight-gradient error {weightError:E2}");
        Assert.True(inputError < 1e-4, $"input gradient relative error {inputError:E2}");
        Assert.True(weightError < 1e-4, $"weight gradient relative error {weightError:E2}");
    }

    [Theory]
    [InlineData(56, 3, 9, false)]
    [InlineData(20, 16, 3, false)]
    [InlineData(40, 64, 3, false)]
    [InlineData(100, 16, 3, false)]
    [InlineData(56, 12, 1, false)]
    [InlineData(56, 3, 9, true)]
    [InlineData(40, 64, 3, true)]
    public void PaddedConvolutionForwardMatchesFloat64ForAnyInputChannels(int inChannels, int outChannels, int kernel, bool forcePadding)
    {
        using var forced = forcePadding ? OneDnnWorkarounds.Force(true) : null;
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var layer = ChannelPaddedConv2d.Create(inChannels, outChannels, kernel, padding: kernel / 2);
        var input = randn(2, inChannels, 16, 20);
        using var noGrad = no_grad();
        var single = layer.forward(input);
        layer.to(float64);
        var exact = layer.forward(input.to(float64));
        double error = Float64Reference.RelativeMaxError(single, exact);
        output.WriteLine($"{inChannels} -> {outChannels}, {kernel}x{kernel}: forward relative error {error:E2}");
        Assert.True(error < 1e-4, $"forward relative error {error:E2}");
    }

    /// <summary>
    /// The rectangular and dilated layers of PLKSR's sparse large kernels (the (height, width) overload), padded or
    /// not: forward and both gradients equal float64's, on a batch, with the outputs and inputs of the two bugs.
    /// </summary>
    [Theory]
    [InlineData(12, 17, 5, 1, false)]
    [InlineData(12, 5, 17, 1, true)]
    [InlineData(24, 5, 5, 3, false)]
    [InlineData(24, 5, 5, 3, true)]
    public void RectangularAndDilatedConvolutionsMatchFloat64OnBatches(int channels, int kernelHeight, int kernelWidth, int dilation, bool forcePadding)
    {
        using var forced = forcePadding ? OneDnnWorkarounds.Force(true) : null;
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        long padHeight = kernelHeight / 2 * dilation, padWidth = kernelWidth / 2 * dilation;
        var layer = ChannelPaddedConv2d.Create(channels, channels, (kernelHeight, kernelWidth), (padHeight, padWidth), (dilation, dilation));
        var input = randn(8, channels, 19, 21);
        var upstream = randn(8, channels, 19, 21);
        var exact = ForwardAndBackward(layer, input, upstream, float64);
        var single = ForwardAndBackward(layer, input, upstream, float32);
        Assert.Equal(new long[] { 8, channels, 19, 21 }, exact.Output.shape);
        double outputError = Float64Reference.RelativeMaxError(single.Output, exact.Output);
        double inputError = Float64Reference.RelativeMaxError(single.Input, exact.Input);
        double weightError = Float64Reference.RelativeMaxError(single.Weight, exact.Weight);
        output.WriteLine($"{channels} ch, {kernelHeight}x{kernelWidth} dilation {dilation}: forward {outputError:E2}, input gradient {inputError:E2}, weight gradient {weightError:E2}");
        Assert.True(outputError < 1e-4 && inputError < 1e-4 && weightError < 1e-4, $"{outputError:E2} {inputError:E2} {weightError:E2}");
    }

    /// <summary>The layer in <paramref name="type"/>: its output, input gradient and weight gradient for <paramref name="upstream"/>, as float64.</summary>
    private static (Tensor Output, Tensor Input, Tensor Weight) ForwardAndBackward(nn.Module<Tensor, Tensor> layer, Tensor input, Tensor upstream, ScalarType type)
    {
        layer.to(type);
        layer.zero_grad();
        var x = input.to(type).requires_grad_(true);
        var y = layer.forward(x);
        y.backward([upstream.to(type)]);
        var weight = layer.parameters().First();
        return (y.detach().to(float64), x.grad!.to(float64), weight.grad!.to(float64));
    }

    [Theory]
    [InlineData(SrArchitecture.Srcnn, 1, 2)]
    [InlineData(SrArchitecture.Srcnn, 3, 3)]
    [InlineData(SrArchitecture.Fsrcnn, 1, 2)]
    [InlineData(SrArchitecture.Fsrcnn, 3, 4)]
    [InlineData(SrArchitecture.Espcn, 1, 2)]
    [InlineData(SrArchitecture.Espcn, 3, 3)]
    public void NetworkParameterGradientsMatchFloat64OnBatches(SrArchitecture architecture, int channels, int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        using var network = NetworkFactory.Create(architecture, scale, channels);
        var lowRes = rand(8, channels, 10, 12);
        var highRes = rand(8, channels, 10 * scale, 12 * scale);

        Tensor[] Gradients(ScalarType type)
        {
            network.to(type);
            network.zero_grad();
            var loss = nn.functional.mse_loss(network.forward(lowRes.to(type)), highRes.to(type));
            loss.backward();
            return network.parameters().Select(p => p.grad!.to(float64)).ToArray();
        }

        var exact = Gradients(float64);
        var single = Gradients(float32);
        var names = network.named_parameters().Select(p => p.name).ToArray();
        for (int i = 0; i < exact.Length; i++)
        {
            double error = Float64Reference.RelativeMaxError(single[i], exact[i]);
            output.WriteLine($"{names[i]}: {error:E2}");
            Assert.True(error < 1e-3, $"{architecture} {names[i]}: float32 gradient differs from float64 by {error:E2} (relative)");
        }
    }
}
