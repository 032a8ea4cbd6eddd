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
/// <para>
/// Second bug, in the forward pass: a float32 convolution with a kernel larger than 1x1 is wrong (NaN or 15-25%
/// error, on every call) when its input channels are more than 16 and not a multiple of 16 (measured: 17, 20, 24,
/// 28, 40, 56, 60, 72, 100, 104, 120, 136, 200 wrong; 3, 12, 16, 32, 48, 64, 80, 96 right; 1x1 kernels right). Such a
/// layer appends zero input channels (and zero weights) up to the next multiple of 16, always.
/// </para>
/// <para>
/// Both bugs come with oneDNN's AVX-512 kernels (neither reproduces on an AVX2-only CPU): the padding runs only where
/// <see cref="OneDnnWorkarounds.AppliesTo"/> says so (CPU tensors on a CPU with AVX-512, or not x86); elsewhere (an
/// AVX2-only CPU, a GPU) the layer is a plain convolution with the same parameters.
/// </para>
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
    private readonly long _extraInputs;

    /// <summary>Creates the layer with PyTorch's default <c>Conv2d</c> initialisation.</summary>
    public ChannelPaddedConv2d(long inChannels, long outChannels, long kernelSize, long padding = 0, bool hasBias = true, long stride = 1)
        : base(nameof(ChannelPaddedConv2d))
    {
        OutChannels = outChannels;
        this.padding = [padding, padding];
        this.stride = [stride, stride];
        _extraInputs = NeedsInputPadding(inChannels, kernelSize) ? ChannelPadding.ToMultiple(inChannels, ChannelMultiple) : 0;

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
    /// A convolution layer: PyTorch's own <c>nn.Conv2d</c> when neither bug can hit its shape (outputs a multiple of
    /// <see cref="ChannelMultiple"/>, inputs fine), else this padded layer. Both have the keys weight and bias.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long outChannels, long kernelSize, long padding = 0, bool hasBias = true, long stride = 1)
        => outChannels % ChannelMultiple == 0 && !NeedsInputPadding(inChannels, kernelSize)
            ? nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: hasBias)
            : new ChannelPaddedConv2d(inChannels, outChannels, kernelSize, padding, hasBias, stride);

    /// <summary>Whether the forward bug can hit a convolution with these input channels and kernel.</summary>
    public static bool NeedsInputPadding(long inChannels, long kernelSize)
        => kernelSize > 1 && inChannels > ChannelMultiple && inChannels % ChannelMultiple != 0;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (!OneDnnWorkarounds.AppliesTo(input))
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, 1);

        using var scope = NewDisposeScope();
        var x = ChannelPadding.Append(input, 1, _extraInputs);
        Tensor w = ChannelPadding.Append(weight, 1, _extraInputs);
        Tensor? b = bias;
        long extraOutputs = is_grad_enabled() ? ChannelPadding.ToMultiple(OutChannels, ChannelMultiple) : 0;
        (w, b) = ChannelPadding.Pad(w, b, outputDim: 0, extraOutputs);
        var y = nn.functional.conv2d(x, w, b, stride, padding, dilation, 1);
        if (extraOutputs > 0)
            y = y.narrow(1, 0, OutChannels).contiguous();
        return y.MoveToOuterDisposeScope();
    }
}
