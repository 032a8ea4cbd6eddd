using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// EDSR-PyTorch's <c>common.MeanShift</c>: a fixed 1x1 convolution that subtracts (sign -1) or adds (sign +1) the
/// training set's mean colour (DIV2K: 0.4488, 0.4371, 0.4040) times <c>rgb_range</c>. Its <c>weight</c> and
/// <c>bias</c> are parameters with requires_grad off, as in the reference, so its keys load 1:1 and it is not trained
/// (nor counted as trainable). One channel (Y) uses the Y of that mean colour.
/// </summary>
internal sealed class MeanShift : nn.Module<Tensor, Tensor>
{
    /// <summary>DIV2K's mean RGB in [0, 1].</summary>
    public static readonly double[] Div2kMean = [0.4488, 0.4371, 0.4040];

    private readonly Parameter weight;
    private readonly Parameter bias;

    public MeanShift(int channels, double rgbRange, int sign) : base(nameof(MeanShift))
    {
        double[] mean = channels == 3
            ? Div2kMean
            : [(16 + 65.481 * Div2kMean[0] + 128.553 * Div2kMean[1] + 24.966 * Div2kMean[2]) / 255];
        weight = new Parameter(eye(channels).view(channels, channels, 1, 1), requires_grad: false);
        bias = new Parameter(tensor(mean.Select(m => (float)(sign * rgbRange * m)).ToArray()), requires_grad: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => nn.functional.conv2d(input, weight, bias);
}
