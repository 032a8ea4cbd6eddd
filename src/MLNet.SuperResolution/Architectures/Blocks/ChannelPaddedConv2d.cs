using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A drop-in <c>nn.Conv2d</c> (no groups; square or rectangular kernel, dilation) with the same parameters,
/// <c>weight</c> [out, in, kh, kw] and <c>bias</c> [out], so state_dict keys are those of PyTorch's module.
/// <see cref="Convolve"/> applies the same workarounds to weights computed in a forward pass (SPAN's
/// reparameterised 3x3 convolutions).
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
    private readonly long[] dilation;
    private readonly long _extraInputs;

    /// <summary>Creates the layer with PyTorch's default <c>Conv2d</c> initialisation.</summary>
    public ChannelPaddedConv2d(long inChannels, long outChannels, long kernelSize, long padding = 0, bool hasBias = true, long stride = 1)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (padding, padding), (1, 1), hasBias, stride)
    {
    }

    /// <summary>
    /// Creates the layer with a <paramref name="kernelSize"/> of (height, width), per-axis <paramref name="padding"/>
    /// and <paramref name="dilation"/>, and PyTorch's default <c>Conv2d</c> initialisation.
    /// </summary>
    public ChannelPaddedConv2d(long inChannels, long outChannels, (long Height, long Width) kernelSize, (long Height, long Width) padding,
        (long Height, long Width) dilation, bool hasBias = true, long stride = 1)
        : base(nameof(ChannelPaddedConv2d))
    {
        OutChannels = outChannels;
        this.padding = [padding.Height, padding.Width];
        this.dilation = [dilation.Height, dilation.Width];
        this.stride = [stride, stride];
        _extraInputs = NeedsInputPadding(inChannels, kernelSize) ? ChannelPadding.ToMultiple(inChannels, ChannelMultiple) : 0;

        // Borrow the framework's own initialisation (kaiming-uniform weight, fan-in-bounded bias).
        ConstructionBudget.Take(ConstructionBudget.ConvolutionElements(inChannels, outChannels, kernelSize.Height * kernelSize.Width, hasBias));
        using (var reference = nn.Conv2d(inChannels, outChannels, kernelSize, stride: (stride, stride), padding: padding, dilation: dilation, bias: hasBias))
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
    {
        if (outChannels % ChannelMultiple != 0 || NeedsInputPadding(inChannels, kernelSize))
            return new ChannelPaddedConv2d(inChannels, outChannels, kernelSize, padding, hasBias, stride);
        ConstructionBudget.Take(ConstructionBudget.ConvolutionElements(inChannels, outChannels, kernelSize * kernelSize, hasBias));
        return nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: hasBias);
    }

    /// <summary>
    /// <see cref="Create(long, long, long, long, bool, long)"/> for a (height, width) kernel with per-axis padding and
    /// dilation (stride 1): PyTorch's <c>nn.Conv2d</c> where neither bug can hit, else this padded layer.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long outChannels, (long Height, long Width) kernelSize,
        (long Height, long Width) padding, (long Height, long Width) dilation, bool hasBias = true)
    {
        if (outChannels % ChannelMultiple != 0 || NeedsInputPadding(inChannels, kernelSize))
            return new ChannelPaddedConv2d(inChannels, outChannels, kernelSize, padding, dilation, hasBias);
        ConstructionBudget.Take(ConstructionBudget.ConvolutionElements(inChannels, outChannels, kernelSize.Height * kernelSize.Width, hasBias));
        return nn.Conv2d(inChannels, outChannels, kernelSize, stride: (1, 1), padding: padding, dilation: dilation, bias: hasBias);
    }

    /// <summary>Whether the forward bug can hit a convolution with these input channels and kernel.</summary>
    public static bool NeedsInputPadding(long inChannels, long kernelSize) => NeedsInputPadding(inChannels, (kernelSize, kernelSize));

    /// <summary>Whether the forward bug can hit a convolution with these input channels and (height, width) kernel.</summary>
    public static bool NeedsInputPadding(long inChannels, (long Height, long Width) kernelSize)
        => kernelSize.Height * kernelSize.Width > 1 && inChannels > ChannelMultiple && inChannels % ChannelMultiple != 0;

    /// <summary>
    /// <c>conv2d(input, weight, bias)</c> with stride 1, "same"-style <paramref name="padding"/> on both axes and no
    /// dilation, for a <paramref name="weight"/> [out, in, kh, kw] computed in the forward pass (not a parameter of a
    /// layer), with the layer's workarounds where <see cref="OneDnnWorkarounds.AppliesTo"/> says so. Gradients reach
    /// <paramref name="weight"/> and <paramref name="bias"/> (and what they were computed from).
    /// </summary>
    public static Tensor Convolve(Tensor input, Tensor weight, Tensor? bias, long padding)
    {
        long inChannels = weight.shape[1];
        long extraInputs = NeedsInputPadding(inChannels, (weight.shape[2], weight.shape[3])) ? ChannelPadding.ToMultiple(inChannels, ChannelMultiple) : 0;
        return ConvolveCore(input, weight, bias, [1, 1], [padding, padding], [1, 1], extraInputs);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => ConvolveCore(input, weight, bias, stride, padding, dilation, _extraInputs);

    private static Tensor ConvolveCore(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long extraInputs)
    {
        if (!OneDnnWorkarounds.AppliesTo(input))
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, 1);

        using var scope = NewDisposeScope();
        long outChannels = weight.shape[0];
        var x = ChannelPadding.Append(input, 1, extraInputs);
        Tensor w = ChannelPadding.Append(weight, 1, extraInputs);
        Tensor? b = bias;
        long extraOutputs = is_grad_enabled() ? ChannelPadding.ToMultiple(outChannels, ChannelMultiple) : 0;
        (w, b) = ChannelPadding.Pad(w, b, outputDim: 0, extraOutputs);
        var y = nn.functional.conv2d(x, w, b, stride, padding, dilation, 1);
        if (extraOutputs > 0)
            y = y.narrow(1, 0, outChannels).contiguous();
        return y.MoveToOuterDisposeScope();
    }
}
