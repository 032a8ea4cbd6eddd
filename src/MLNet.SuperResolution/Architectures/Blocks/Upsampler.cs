using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Sub-pixel upsampler of EDSR-PyTorch (<c>common.Upsampler</c>) and BasicSR (<c>arch_util.Upsample</c>):
/// <code>
/// scale 2^n:  [conv 3x3 C -> 4C, PixelShuffle(2)] x n      keys 0, 2, 4 (convs), 1, 3, 5 (shuffles)
/// scale 3:    conv 3x3 C -> 9C, PixelShuffle(3)           keys 0, 1
/// </code>
/// Other scales are not supported (clear error).
/// </summary>
internal static class Upsampler
{
    /// <summary>Builds the upsampler as a Sequential whose child indices give EDSR-PyTorch's keys.</summary>
    public static Sequential Create(int scale, long numFeat, bool bias = true)
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (scale >= 2 && (scale & (scale - 1)) == 0)
        {
            for (int s = scale; s > 1; s /= 2)
            {
                layers.Add(Layers.Conv(numFeat, 4 * numFeat, 3, bias));
                layers.Add(nn.PixelShuffle(2));
            }
        }
        else if (scale == 3)
        {
            layers.Add(Layers.Conv(numFeat, 9 * numFeat, 3, bias));
            layers.Add(nn.PixelShuffle(3));
        }
        else
        {
            throw new ArgumentException($"The sub-pixel upsampler supports scales 2^n and 3; got {scale}.", nameof(scale));
        }

        return nn.Sequential(layers);
    }
}
