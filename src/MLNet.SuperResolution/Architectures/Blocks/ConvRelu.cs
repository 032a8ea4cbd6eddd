using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A "same"-padded convolution followed by an optional ReLU, the unit of VDSR (pytorch-vdsr <c>Conv_ReLU_Block</c>)
/// and DRCN (pytorch-super-resolution-model-collection <c>ConvBlock</c> without normalisation). Key: <c>conv</c>.
/// </summary>
internal sealed class ConvRelu : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly bool _relu;

    /// <summary>A k x k convolution (padding k / 2), then ReLU when <paramref name="relu"/>.</summary>
    public ConvRelu(long inChannels, long outChannels, long kernelSize = 3, bool bias = true, bool relu = true)
        : base(nameof(ConvRelu))
    {
        conv = Layers.Conv(inChannels, outChannels, kernelSize, bias);
        _relu = relu;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        // In place on the convolution's own fresh output (the references' ReLU(inplace=True)); autograd allows it, since a
        // convolution's backward does not read its output: one activation less alive, one buffer less to allocate.
        return _relu ? conv.forward(input).relu_() : conv.forward(input);
    }
}
