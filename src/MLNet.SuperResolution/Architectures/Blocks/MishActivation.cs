using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Mish, x tanh(softplus(x)), as <c>nn.Mish</c> (no parameters, so no state_dict keys). softplus(x) = log(1 + e^x) is
/// computed as <c>logaddexp(x, 0)</c>, the same function without overflow (PyTorch's CPU kernel computes
/// <c>log1p(exp(x))</c>): TorchSharp's <c>mish</c> calls its <c>softplus</c>, which converts beta and threshold to
/// temporary Scalars on every call (docs/implementation-notes.md, "TorchSharp Scalars"). The gradient is autograd's
/// through the same formula.
/// </summary>
internal sealed class MishActivation : nn.Module<Tensor, Tensor>
{
    public MishActivation() : base(nameof(MishActivation))
    {
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return input.mul(input.logaddexp(zeros_like(input)).tanh()).MoveToOuterDisposeScope();
    }
}
