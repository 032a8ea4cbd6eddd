using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A drop-in <c>nn.Conv2d</c> (square kernel, no groups, no dilation) with the same parameters,
/// <c>weight</c> [out, in, k, k] and <c>bias</c> [out], so state_dict keys are those of PyTorch's module.
/// </summary>
/// <remarks>
/// Why it exists: on the AVX-512 CPUs this library is developed and tested on, libtorch's oneDNN float32
/// convolution computes a wrong gradient with respect to its input when the number of output channels is not a
/// multiple of 16 and the batch has more than one image (15-60% relative error on every backward pass, sometimes
/// NaN, measured for 3, 4, 8, 12, 17, 20, 24, 27, 36, 40, 56 and 63 outputs; 16, 32, 48 and 64, batch 1 and float64
/// are right; see ConvolutionBackwardTests). That includes the last layer of nearly every SR network (64 -> 1 or 3
/// channels), whose input gradient feeds every earlier layer. Turning oneDNN off fixes it but makes training 2.7x
/// and inference 4.5x slower. So while gradients are recorded, such a layer computes its output channels rounded
/// up to a multiple of <see cref="ChannelMultiple"/> (the extra ones with zero weights) and keeps the real ones; its
/// input gradient is then computed by a kernel that is right. Without gradients (inference) it is a plain convolution.
/// </remarks>
internal sealed class ChannelPaddedConv2d : nn.Module<Tensor, Tensor>
{
    /// <summary>While recording gradients, the computed output channels are a multiple of this.</summary>
    public const int ChannelMultiple = 16;

    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long[] stride;
    private readonly long[] padding;
    private readonly long[] dilation = [1, 1];

    /// <summary>Creates the layer with PyTorch's default <c>Conv2d</c> initialisation.</summary>
    public ChannelPaddedConv2d(long inChannels, long outChannels, long kernelSize, long padding = 0, bool hasBias = true, long stride = 1)
        : base(nameof(ChannelPaddedConv2d))
    {
        OutChannels = outChannels;
        this.padding = [padding, padding];
        this.stride = [stride, stride];

        // Borrow the framework's own initialisation (kaiming-uniform weight, fan-in-bounded bias).
        using (var reference = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: hasBias))
        using (no_grad())
        {
            weight = new Parameter(reference.weight!.detach().clone());
            bias = hasBias ? new Parameter(reference.bias!.detach().clone()) : null;
        }

        RegisterComponents();
    }

    /// <summary>Output channels (before any internal padding).</summary>
    public long OutChannels { get; }

    /// <summary>
    /// A convolution layer for <paramref name="outChannels"/> outputs: PyTorch's own <c>nn.Conv2d</c> when that is a
    /// multiple of <see cref="ChannelMultiple"/>, else this padded layer. Both have the keys weight and bias.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long outChannels, long kernelSize, long padding = 0, bool hasBias = true, long stride = 1)
        => outChannels % ChannelMultiple == 0
            ? nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: hasBias)
            : new ChannelPaddedConv2d(inChannels, outChannels, kernelSize, padding, hasBias, stride);

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!is_grad_enabled())
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, 1);

        using var scope = NewDisposeScope();
        long extra = (ChannelMultiple - OutChannels % ChannelMultiple) % ChannelMultiple;
        var (w, b) = ChannelPadding.Pad(weight, bias, outputDim: 0, extra);
        var y = nn.functional.conv2d(input, w, b, stride, padding, dilation, 1);
        return y.narrow(1, 0, OutChannels).contiguous().MoveToOuterDisposeScope();
    }
}
