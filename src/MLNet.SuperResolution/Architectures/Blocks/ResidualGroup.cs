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

    public ResidualGroup(IEnumerable<nn.Module<Tensor, Tensor>> blocks, long numFeat) : base(nameof(ResidualGroup))
    {
        body = Trunk(blocks, numFeat);
        RegisterComponents();
    }

    /// <summary>The blocks followed by a 3x3 convolution <paramref name="numFeat"/> -> <paramref name="numFeat"/>, without the skip.</summary>
    public static Sequential Trunk(IEnumerable<nn.Module<Tensor, Tensor>> blocks, long numFeat)
        => nn.Sequential(blocks.Append(Layers.Conv(numFeat, numFeat, 3)));

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return body.forward(input).add(input).MoveToOuterDisposeScope();
    }
}
