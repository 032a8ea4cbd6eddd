using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Imaging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRCNN 9-5-5: Dong, Loy, He and Tang, "Image Super-Resolution Using Deep Convolutional Networks", ECCV 2014 /
/// TPAMI 2016. The LR image is first upscaled with MATLAB bicubic (<see cref="TorchBicubic"/>), then refined by
/// three convolutions (9x9 to 64, ReLU, 5x5 to 32, ReLU, 5x5 to C), zero-padded so the size is kept.
/// Keys follow yjn870/SRCNN-pytorch models.py (MIT): <c>conv1</c>, <c>conv2</c>, <c>conv3</c>; 57,281 parameters for
/// one channel.
/// </summary>
internal sealed class Srcnn : SrNetwork
{
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> conv3;

    /// <summary>Builds SRCNN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Srcnn(int scale, int channels) : base(nameof(Srcnn), scale, channels)
    {
        conv1 = ChannelPaddedConv2d.Create(channels, 64, 9, padding: 4);
        conv2 = ChannelPaddedConv2d.Create(64, 32, 5, padding: 2);
        conv3 = ChannelPaddedConv2d.Create(32, channels, 5, padding: 2);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = TorchBicubic.Upscale(input, Scale);
        x = nn.functional.relu(conv1.forward(x));
        x = nn.functional.relu(conv2.forward(x));
        return conv3.forward(x).MoveToOuterDisposeScope();
    }
}
