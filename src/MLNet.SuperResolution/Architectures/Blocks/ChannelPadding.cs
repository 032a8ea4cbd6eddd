using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>Zero-pads a convolution's output channels (weight and bias), for the oneDNN workarounds in this folder.</summary>
internal static class ChannelPadding
{
    /// <summary>
    /// The weight with <paramref name="extra"/> zero output channels appended along <paramref name="outputDim"/>
    /// (0 for Conv2d's [out, in, k, k], 1 for ConvTranspose2d's [in, out, k, k]), and the bias likewise. Part of the
    /// autograd graph: gradients reach the real channels unchanged.
    /// </summary>
    public static (Tensor Weight, Tensor? Bias) Pad(Tensor weight, Tensor? bias, int outputDim, long extra)
    {
        var shape = weight.shape.ToArray();
        shape[outputDim] = extra;
        var paddedWeight = cat([weight, zeros(shape, weight.dtype, weight.device)], outputDim);
        var paddedBias = bias is null ? null : cat([bias, zeros(extra, bias.dtype, bias.device)], 0);
        return (paddedWeight, paddedBias);
    }
}
