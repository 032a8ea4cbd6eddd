using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// RCAN's channel attention (EDSR-PyTorch <c>rcan.CALayer</c>): global average pooling, 1x1 conv down by
/// <c>reduction</c>, ReLU, 1x1 conv up, sigmoid; the input is scaled channel-wise by the result.
/// Keys: <c>conv_du.0</c>, <c>conv_du.2</c>.
/// </summary>
internal sealed class ChannelAttention : nn.Module<Tensor, Tensor>
{
    private readonly AdaptiveAvgPool2d avg_pool;
    private readonly Sequential conv_du;

    public ChannelAttention(long channels, long reduction = 16) : base(nameof(ChannelAttention))
    {
        if (reduction < 1 || channels / reduction < 1)
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"The reduction must leave at least one of the {channels} channels.");
        avg_pool = nn.AdaptiveAvgPool2d(1);
        conv_du = nn.Sequential(
            Layers.Conv(channels, channels / reduction, 1),
            nn.ReLU(inplace: true),
            Layers.Conv(channels / reduction, channels, 1),
            nn.Sigmoid());
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return input.mul(conv_du.forward(avg_pool.forward(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// RCAN's residual channel-attention block (EDSR-PyTorch <c>rcan.RCAB</c>):
/// <code>
///   x ──> conv 3x3 ──> ReLU ──> conv 3x3 ──> channel attention ──> × res_scale ──(+)──> out
///   └─────────────────────────────────────────────────────────────────────┘
/// </code>
/// Keys: <c>body.0</c>, <c>body.2</c>, <c>body.3.conv_du.*</c>. Also DRN's building block.
/// </summary>
internal sealed class ResidualChannelAttentionBlock : nn.Module<Tensor, Tensor>
{
    private readonly Sequential body;
    private readonly double _resScale;

    public ResidualChannelAttentionBlock(long numFeat, long reduction = 16, double resScale = 1.0, long kernelSize = 3)
        : base(nameof(ResidualChannelAttentionBlock))
    {
        body = nn.Sequential(
            Layers.Conv(numFeat, numFeat, kernelSize),
            nn.ReLU(inplace: true),
            Layers.Conv(numFeat, numFeat, kernelSize),
            new ChannelAttention(numFeat, reduction));
        _resScale = resScale;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return ResidualBlock.AddScaled(body.forward(input), input, _resScale).MoveToOuterDisposeScope();
    }
}
