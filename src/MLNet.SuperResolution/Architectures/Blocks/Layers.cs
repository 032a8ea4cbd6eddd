using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Layer factories every network uses, so that every convolution goes through the oneDNN workaround
/// (<see cref="ChannelPaddedConv2d"/>) and keeps PyTorch's keys (<c>weight</c>, <c>bias</c>).
/// </summary>
internal static class Layers
{
    /// <summary>EDSR-PyTorch's <c>default_conv</c>: a k x k convolution with "same" padding (k / 2).</summary>
    public static nn.Module<Tensor, Tensor> Conv(long inChannels, long outChannels, long kernelSize, bool bias = true, long stride = 1)
        => ChannelPaddedConv2d.Create(inChannels, outChannels, kernelSize, padding: kernelSize / 2, hasBias: bias, stride: stride);
}
