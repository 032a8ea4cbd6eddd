using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// A super-resolution network: maps a low-resolution batch [N, C, h, w] in [0, 1] to [N, C, h*Scale, w*Scale].
/// Networks that work on a pre-upscaled image do the bicubic upscaling inside <c>forward</c>, so callers always
/// feed LR images. No ML.NET types here.
/// </summary>
internal abstract class SrNetwork : nn.Module<Tensor, Tensor>
{
    protected SrNetwork(string name, int scale, int channels) : base(name)
    {
        Scale = scale;
        Channels = channels;
    }

    /// <summary>The upscaling factor.</summary>
    public int Scale { get; }

    /// <summary>Input and output channels: 1 (Y) or 3 (RGB).</summary>
    public int Channels { get; }
}
