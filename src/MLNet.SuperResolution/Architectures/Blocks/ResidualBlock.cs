using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// EDSR's residual block without batch normalisation (EDSR-PyTorch <c>common.ResBlock</c>, BasicSR
/// <c>ResidualBlockNoBN</c>):
/// <code>
///   x ──> conv 3x3 ──> ReLU ──> conv 3x3 ──> × res_scale ──(+)──> out
///   └──────────────────────────────────────────────────────┘
/// </code>
/// Keys: <c>body.0</c>, <c>body.2</c>.
/// </summary>
internal sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly Sequential body;
    private readonly double _resScale;

    public ResidualBlock(long numFeat, double resScale = 1.0, long kernelSize = 3) : base(nameof(ResidualBlock))
    {
        body = nn.Sequential(Layers.Conv(numFeat, numFeat, kernelSize), nn.ReLU(inplace: true), Layers.Conv(numFeat, numFeat, kernelSize));
        _resScale = resScale;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // In place, as the reference (`res += x`, ReLU(inplace=True)): the body's output is its own fresh tensor, and no
        // backward reads it (a convolution's or a product's backward reads their inputs): one activation less per block.
        var residual = body.forward(input);
        if (_resScale != 1.0)
        {
            using var resScale = _resScale.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            residual = residual.mul_(resScale);
        }
        return residual.add_(input).MoveToOuterDisposeScope();
    }
}
