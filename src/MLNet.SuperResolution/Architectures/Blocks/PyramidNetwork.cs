using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Base of the networks that upscale in x2 steps and give an image after each (LapSRN's pyramid levels, DRN's
/// outputs): <c>forward</c> returns the last, largest one; <see cref="SrNetwork.TrainingLoss"/> overrides use them all.
/// </summary>
internal abstract class PyramidNetwork : SrNetwork
{
    /// <summary>Checks that the scale is a power of two of at least 2 (the descriptor names the supported ones).</summary>
    protected PyramidNetwork(string name, int scale, int channels) : base(name, scale, channels)
    {
        if (scale < 2 || (scale & (scale - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"{name} upscales by powers of two.");
    }

    /// <summary>The number of x2 steps, log2(Scale).</summary>
    protected int Steps => System.Numerics.BitOperations.Log2((uint)Scale);

    /// <summary>The images the network produces, smallest first, Scale x the input last (in the caller's dispose scope).</summary>
    protected abstract List<Tensor> Outputs(Tensor input);

    /// <inheritdoc />
    public sealed override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Outputs(input)[^1].MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The target of an image <paramref name="stepsBelow"/> x2 steps smaller than the HR batch: the HR batch itself
    /// (0) or its MATLAB-bicubic downscaling by 2^stepsBelow.
    /// </summary>
    protected static Tensor Target(Tensor highRes, int stepsBelow)
        => stepsBelow == 0 ? highRes : TorchBicubic.Downscale(highRes, 1 << stepsBelow);
}
