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
        return AddScaled(body.forward(input), input, _resScale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="residual"/> x <paramref name="resScale"/> + <paramref name="input"/>, in place on
    /// <paramref name="residual"/> as the references' <c>res += x</c>: it must be a block body's own fresh output, which
    /// no backward reads (a convolution's or a product's backward reads their inputs), so a block keeps one activation less.
    /// </summary>
    internal static Tensor AddScaled(Tensor residual, Tensor input, double resScale)
    {
        if (resScale != 1.0)
        {
            using var scale = resScale.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            residual.mul_(scale);
        }

        return residual.PlusInPlace(input);
    }
}
