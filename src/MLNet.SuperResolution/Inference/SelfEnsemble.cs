using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// The x8 self-ensemble (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW
/// 2017; EDSR-PyTorch's <c>forward_x8</c>): the forward pass on the 8 dihedral transforms of the input (4 rotations,
/// each with and without a horizontal flip), each output transformed back, averaged.
/// </summary>
internal static class SelfEnsemble
{
    /// <summary>The 8 transforms: quarter turns and whether the image is flipped first.</summary>
    public static IEnumerable<(int QuarterTurns, bool Flip)> Transforms
        => from turns in Enumerable.Range(0, 4) from flip in new[] { false, true } select (turns, flip);

    /// <summary>Applies a transform to [N, C, H, W]: flip the width axis (if set), then rotate.</summary>
    public static Tensor Apply(Tensor x, int quarterTurns, bool flip)
    {
        var flipped = flip ? x.flip(3) : x;
        return quarterTurns == 0 ? flipped : flipped.rot90(quarterTurns, (2, 3));
    }

    /// <summary>Undoes <see cref="Apply"/>: rotate back, then flip.</summary>
    public static Tensor Invert(Tensor x, int quarterTurns, bool flip)
    {
        var rotated = quarterTurns == 0 ? x : x.rot90(-quarterTurns, (2, 3));
        return flip ? rotated.flip(3) : rotated;
    }

    /// <summary>The mean of <paramref name="forward"/> over the 8 transforms of <paramref name="input"/>.</summary>
    public static Tensor Forward(Func<Tensor, Tensor> forward, Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        foreach (var (turns, flip) in Transforms)
        {
            var output = Invert(forward(Apply(input, turns, flip)), turns, flip);
            sum = sum is null ? output : sum.PlusInPlace(output);
        }

        using var eight = 8.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        return sum!.div_(eight).MoveToOuterDisposeScope();
    }
}
