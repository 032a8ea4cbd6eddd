using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// The bicubic baseline as a network: MATLAB <c>imresize</c> bicubic upscaling (<see cref="TorchBicubic"/>), no
/// parameters. It is the "Bicubic" row of every SR table (e.g. Dong et al., TPAMI 2016, Table 2) and lets the
/// bicubic baseline go through the same pipeline as the learnt networks. Has no state_dict keys.
/// </summary>
internal sealed class BicubicNetwork : SrNetwork
{
    /// <summary>Builds the bicubic baseline for <paramref name="scale"/> and <paramref name="channels"/>.</summary>
    public BicubicNetwork(int scale, int channels) : base(nameof(BicubicNetwork), scale, channels)
    {
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => TorchBicubic.Upscale(input, Scale);
}
