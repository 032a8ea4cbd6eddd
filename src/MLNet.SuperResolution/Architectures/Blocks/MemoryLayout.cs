using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Channels-last (NHWC strides on an [N, C, H, W] tensor), the layout oneDNN's CPU convolutions run natively and
/// follow from their input. TorchSharp 0.107 has no <c>memory_format</c> argument, so the layout is read from and
/// given by strides.
/// </summary>
internal static class MemoryLayout
{
    /// <summary>Whether a 4-D tensor of more than one channel has channels-last strides (channel stride 1, not NCHW-contiguous).</summary>
    public static bool IsChannelsLast(Tensor x) => x.dim() == 4 && x.shape[1] > 1 && x.stride(1) == 1 && !x.is_contiguous();

    /// <summary>The same values and shape with NHWC strides, what PyTorch's <c>contiguous(memory_format=torch.channels_last)</c> gives.</summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
}
