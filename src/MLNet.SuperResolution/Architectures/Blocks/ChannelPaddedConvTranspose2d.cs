using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A drop-in <c>nn.ConvTranspose2d</c> (square kernel, no groups, no dilation) with the same parameters,
/// <c>weight</c> [in, out, k, k] and <c>bias</c> [out], so the state_dict keys are those of PyTorch's module.
/// </summary>
/// <remarks>
/// Why it exists: on the CPUs this library is developed and tested on, libtorch's oneDNN float32 transposed
/// convolution gives wrong results when the layer has a single output channel and stride 2 or 4 (with a 9x9
/// kernel, 12-21% relative error on every other output row), while 3 or more output channels, stride 3 and
/// float64 are right. FSRCNN's Y-channel tail is exactly such a layer. So when the layer has fewer than
/// <see cref="MinimumComputedChannels"/> output channels and its input is on a CPU with AVX-512, <c>forward</c>
/// zero-pads the weight and bias to that many output channels, calls <c>torch.nn.functional.conv_transpose2d</c> and
/// keeps only the real channels. The padding is part of the autograd graph, so gradients reach <c>weight</c> and <c>bias</c>
/// unchanged; the padded channels cost a few extra multiply-adds and change nothing else. On a GPU (cuDNN) the layer
/// runs as it is: the padding made FSRCNN x4's forward 1.56x PyTorch's on an H200 (docs/performance.md, "On a GPU").
/// Nor on an AVX2-only CPU, whose oneDNN kernels are right (<see cref="OneDnnWorkarounds"/>).
/// </remarks>
internal sealed class ChannelPaddedConvTranspose2d : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels computed at least, so that oneDNN never sees a 1- or 2-channel transposed conv.</summary>
    public const int MinimumComputedChannels = 3;

    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly long[] stride;
    private readonly long[] padding;
    private readonly long[] outputPadding;
    private readonly long[] dilation = [1, 1];

    /// <summary>Creates the layer with PyTorch's default <c>ConvTranspose2d</c> initialisation.</summary>
    public ChannelPaddedConvTranspose2d(
        long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long outputPadding = 0, bool hasBias = true)
        : base(nameof(ChannelPaddedConvTranspose2d))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        this.stride = [stride, stride];
        this.padding = [padding, padding];
        this.outputPadding = [outputPadding, outputPadding];

        // Borrow the framework's own initialisation (kaiming-uniform weight, fan-in-bounded bias).
        ConstructionBudget.Take(ConstructionBudget.ConvolutionElements(inChannels, outChannels, kernelSize * kernelSize, hasBias));
        using (var reference = nn.ConvTranspose2d(inChannels, outChannels, kernelSize, stride, padding, outputPadding, bias: hasBias))
        using (no_grad())
        {
            weight = new Parameter(reference.weight!.detach().clone());
            bias = hasBias ? new Parameter(reference.bias!.detach().clone()) : null;
        }

        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels (before any internal padding).</summary>
    public long OutChannels { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (OutChannels >= MinimumComputedChannels || !OneDnnWorkarounds.AppliesTo(input)) // the bug is oneDNN's AVX-512 kernels' (CPU only)
            return nn.functional.conv_transpose2d(input, weight, bias, stride, padding, outputPadding, dilation, 1);

        using var scope = NewDisposeScope();
        var (w, b) = ChannelPadding.Pad(weight, bias, outputDim: 1, MinimumComputedChannels - OutChannels);
        var y = nn.functional.conv_transpose2d(input, w, b, stride, padding, outputPadding, dilation, 1);
        return y.narrow(1, 0, OutChannels).contiguous().MoveToOuterDisposeScope();
    }
}
