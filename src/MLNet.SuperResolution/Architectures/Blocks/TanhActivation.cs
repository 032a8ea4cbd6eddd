using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// tanh, as <c>nn.Tanh</c> (no parameters, so no state_dict keys), computed on the CPU as 2 sigmoid(2x) - 1.
/// </summary>
/// <remarks>
/// libtorch's CPU <c>tanh</c> (and <c>exp</c>) for float32 goes through MKL's vector math library (<c>vsTanh</c>), which
/// ignores <c>ATEN_CPU_CAPABILITY</c> and on the AMD EPYC development machine takes 1.49 ms per 16 x 64 x 24 x 24
/// tensor on one thread, where libtorch's own vectorised sigmoid takes 0.30-0.34 ms (PyTorch 1.13, built without MKL:
/// tanh 1.27 ms, 0.86 with AVX-512). The identity tanh(x) = 2 sigmoid(2x) - 1 costs a sigmoid and three cheap passes:
/// ESPCN's two tanh layers were the ~0.5 ms per training step that ours spent outside the convolutions beyond PyTorch's
/// (docs/performance.md). Values agree with <c>tanh</c> to 2.4e-7 absolute (the rounding of sigmoid near 1/2, doubled);
/// the gradient is autograd's through the same formula, 1 - tanh^2. On other devices it is <c>tanh</c> itself.
/// </remarks>
internal sealed class TanhActivation : nn.Module<Tensor, Tensor>
{
    public TanhActivation() : base(nameof(TanhActivation))
    {
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.device_type != DeviceType.CPU)
            return input.tanh();
        using var scope = NewDisposeScope();
        using var two = 2.0.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        using var one = 1.0.ToScalar();
        // 2x is a fresh tensor nothing saves (a product with a constant keeps no input for its backward), so the sigmoid
        // can run in place on it; the sigmoid's output is saved for the backward, so the last product is a new tensor,
        // which the subtraction then updates in place. Without autograd everything after 2x is in place.
        var sigmoid = input.mul(two).sigmoid_();
        var output = is_grad_enabled() && input.requires_grad ? sigmoid.mul(two) : sigmoid.mul_(two);
        return output.sub_(one).MoveToOuterDisposeScope();
    }
}
