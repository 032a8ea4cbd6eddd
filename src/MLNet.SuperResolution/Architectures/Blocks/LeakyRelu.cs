using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// <c>nn.LeakyReLU</c> without a Scalar made per call (<see cref="ScalarSafe"/>); no parameters, so state_dict keys are
/// those of the reference's <c>nn.LeakyReLU</c> (none).
/// </summary>
internal sealed class LeakyRelu : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Scalar _negativeSlope;

    /// <summary>A leaky ReLU with slope <paramref name="negativeSlope"/> for negative inputs.</summary>
    public LeakyRelu(double negativeSlope) : base(nameof(LeakyRelu)) => _negativeSlope = ScalarSafe.Constant(negativeSlope);

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => input.leaky_relu(_negativeSlope);
}
