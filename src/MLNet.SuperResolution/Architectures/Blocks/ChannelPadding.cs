using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>Zero-padding of convolution channels, for the oneDNN workarounds in this folder.</summary>
internal static class ChannelPadding
{
    /// <summary><paramref name="tensor"/> with <paramref name="extra"/> zero slices appended along <paramref name="dim"/> (part of the autograd graph).</summary>
    public static Tensor Append(Tensor tensor, int dim, long extra)
    {
        if (extra == 0)
            return tensor;
        var shape = tensor.shape.ToArray();
        shape[dim] = extra;
        return cat([tensor, zeros(shape, tensor.dtype, tensor.device)], dim);
    }

    /// <summary>
    /// The weight with <paramref name="extra"/> zero output channels appended along <paramref name="outputDim"/>
    /// (0 for Conv2d's [out, in, k, k], 1 for ConvTranspose2d's [in, out, k, k]), and the bias likewise. Gradients
    /// reach the real channels unchanged.
    /// </summary>
    public static (Tensor Weight, Tensor? Bias) Pad(Tensor weight, Tensor? bias, int outputDim, long extra)
        => (Append(weight, outputDim, extra), bias is null ? null : Append(bias, 0, extra));

    /// <summary>How many channels to add to reach a multiple of <paramref name="multiple"/>.</summary>
    public static long ToMultiple(long channels, long multiple) => (multiple - channels % multiple) % multiple;
}
