using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// PLKSR's element-wise attention (<c>EA</c>, dslisleedh/PLKSR plksr/archs/plksr_arch.py; the same in neosr's
/// realplksr_arch.py): the input times the sigmoid of a 3x3 convolution of itself, an attention weight per pixel and
/// channel. Keys: <c>f.0.weight</c>, <c>f.0.bias</c> (<c>f.1</c> is the sigmoid). The convolution's weight starts
/// as trunc_normal(std 0.02), as the reference initialises it.
/// </summary>
internal sealed class ElementwiseAttention : nn.Module<Tensor, Tensor>
{
    private readonly Sequential f;

    public ElementwiseAttention(long channels) : base(nameof(ElementwiseAttention))
    {
        var conv = Layers.Conv(channels, channels, 3);
        Initialization.TruncatedNormalWeight(conv, 0.02);
        f = nn.Sequential(conv, nn.Sigmoid());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return input.mul(f.forward(input)).MoveToOuterDisposeScope();
    }
}
