using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// FSRCNN(d=56, s=12, m=4): Dong, Loy and Tang, "Accelerating the Super-Resolution Convolutional Neural Network",
/// ECCV 2016. Feature extraction (5x5, d), shrinking (1x1, s), m mapping layers (3x3, s), expanding (1x1, d), all
/// with PReLU, then a 9x9 transposed convolution with stride = scale on the LR image.
/// Keys follow yjn870/FSRCNN-pytorch models.py (MIT): <c>first_part.{0,1}</c>, <c>mid_part.{0..11}</c>,
/// <c>last_part.{weight,bias}</c>; 12,809 parameters for one channel.
/// </summary>
/// <remarks>
/// The tail is a <see cref="ChannelPaddedConvTranspose2d"/> rather than <c>nn.ConvTranspose2d</c>: same keys and
/// shapes, but it sidesteps a oneDNN float32 bug with one output channel at stride 2 and 4.
/// </remarks>
internal sealed class Fsrcnn : SrNetwork
{
    /// <summary>Feature channels d of the paper configuration.</summary>
    public const int D = 56;

    /// <summary>Shrunk channels s of the paper configuration.</summary>
    public const int S = 12;

    /// <summary>Mapping layers m of the paper configuration.</summary>
    public const int M = 4;

    private readonly Sequential first_part;
    private readonly Sequential mid_part;
    private readonly ChannelPaddedConvTranspose2d last_part;

    /// <summary>Builds FSRCNN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Fsrcnn(int scale, int channels) : base(nameof(Fsrcnn), scale, channels)
    {
        first_part = nn.Sequential(
            ChannelPaddedConv2d.Create(channels, D, 5, padding: 2),
            nn.PReLU(D));

        var mid = new List<nn.Module<Tensor, Tensor>> { ChannelPaddedConv2d.Create(D, S, 1), nn.PReLU(S) };
        for (int i = 0; i < M; i++)
        {
            mid.Add(ChannelPaddedConv2d.Create(S, S, 3, padding: 1));
            mid.Add(nn.PReLU(S));
        }

        mid.Add(ChannelPaddedConv2d.Create(S, D, 1));
        mid.Add(nn.PReLU(D));
        mid_part = nn.Sequential(mid);

        last_part = new ChannelPaddedConvTranspose2d(D, channels, 9, stride: scale, padding: 4, outputPadding: scale - 1);

        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = first_part.forward(input);
        x = mid_part.forward(x);
        return last_part.forward(x).MoveToOuterDisposeScope();
    }
}
