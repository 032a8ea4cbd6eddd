using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// ESPCN 5-3-3: Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
/// Convolutional Neural Network", CVPR 2016. Two tanh convolutions (5x5 to 64, 3x3 to 32) on the LR image, a 3x3
/// convolution to C*scale*scale channels and a pixel shuffle (sub-pixel convolution) to the HR grid.
/// Keys follow yjn870/ESPCN-pytorch models.py (MIT): <c>first_part.{0,2}</c>, <c>last_part.0</c>; 21,284 (x2),
/// 22,729 (x3) and 24,752 (x4) parameters for one channel.
/// </summary>
internal sealed class Espcn : SrNetwork
{
    private readonly Sequential first_part;
    private readonly Sequential last_part;

    /// <summary>Builds ESPCN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Espcn(int scale, int channels) : base(nameof(Espcn), scale, channels)
    {
        first_part = nn.Sequential(
            ChannelPaddedConv2d.Create(channels, 64, 5, padding: 2),
            nn.Tanh(),
            ChannelPaddedConv2d.Create(64, 32, 3, padding: 1),
            nn.Tanh());
        last_part = nn.Sequential(
            ChannelPaddedConv2d.Create(32, channels * scale * scale, 3, padding: 1),
            nn.PixelShuffle(scale));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = first_part.forward(input);
        return last_part.forward(x).MoveToOuterDisposeScope();
    }
}
