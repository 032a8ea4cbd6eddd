using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// PLKSR's partial large-kernel convolution (<c>PLKConv2d</c>, dslisleedh/PLKSR plksr/archs/plksr_arch.py and
/// neosr's realplksr_arch.py): a k x k convolution ("same" padding) of the first <c>idx</c> channels only; the other
/// channels pass unchanged. With <c>with_idt</c> (PLKSR only) the convolved channels also keep their input (an identity
/// branch, foldable into the kernel). The references overwrite the first channels in place in eval mode
/// (<c>x[:, :idx] = conv(x[:, :idx])</c>) and concatenate in training mode; both are this concatenation. Keys:
/// <c>conv.weight</c> [idx, idx, k, k], <c>conv.bias</c>; the weight starts as trunc_normal(std 0.02).
/// </summary>
internal sealed class PartialLargeKernelConv : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly long _channels;
    private readonly bool _withIdentity;

    /// <summary>A <paramref name="kernelSize"/> convolution of the first <paramref name="channels"/> channels.</summary>
    public PartialLargeKernelConv(long channels, long kernelSize, bool withIdentity) : base(nameof(PartialLargeKernelConv))
    {
        _channels = channels;
        _withIdentity = withIdentity;
        conv = Layers.Conv(channels, channels, kernelSize);
        Initialization.TruncatedNormalWeight(conv, 0.02);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Apply(input, _channels, x1 =>
        {
            var y = conv.forward(x1);
            return _withIdentity ? y.Plus(x1) : y;
        }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="transform"/> applied to the first <paramref name="channels"/> channels of
    /// <paramref name="input"/>, concatenated with the rest (unchanged): PLKSR's partial convolutions.
    /// </summary>
    public static Tensor Apply(Tensor input, long channels, Func<Tensor, Tensor> transform)
    {
        long rest = input.shape[1] - channels;
        var first = transform(input.narrow(1, 0, channels));
        return rest == 0 ? first : cat([first, input.narrow(1, channels, rest)], 1);
    }
}
