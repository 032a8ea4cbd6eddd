using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A chain of blocks closed by a 3x3 convolution, with a skip connection around it: RCAN's residual group
/// (EDSR-PyTorch <c>rcan.ResidualGroup</c>), and the trunk EDSR and RCAN put between head and tail:
/// <code>
///   x ──> block ──> ... ──> block ──> conv 3x3 ──(+)──> out
///   └─────────────────────────────────────────┘
/// </code>
/// Keys: <c>body.{0..n-1}.*</c> (the blocks), <c>body.{n}</c> (the convolution).
/// </summary>
internal sealed class ResidualGroup : nn.Module<Tensor, Tensor>
{
    private readonly Sequential body;

    public ResidualGroup(int numBlock, Func<nn.Module<Tensor, Tensor>> block, long numFeat) : base(nameof(ResidualGroup))
    {
        body = Trunk(numBlock, block, numFeat);
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="numBlock"/> blocks made by <paramref name="block"/>, followed by a 3x3 convolution
    /// <paramref name="numFeat"/> -> <paramref name="numFeat"/>, without the skip.
    /// </summary>
    public static Sequential Trunk(int numBlock, Func<nn.Module<Tensor, Tensor>> block, long numFeat)
    {
        if (numBlock < 1)
            throw new ArgumentOutOfRangeException(nameof(numBlock), numBlock, "A residual trunk needs at least one block.");
        return nn.Sequential(Enumerable.Range(0, numBlock).Select(_ => block()).Append(Layers.Conv(numFeat, numFeat, 3)).ToArray());
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // In place, as the reference (`res += x`): the trunk ends in a convolution, whose fresh output no backward reads.
        return body.forward(input).PlusInPlace(input).MoveToOuterDisposeScope();
    }
}
