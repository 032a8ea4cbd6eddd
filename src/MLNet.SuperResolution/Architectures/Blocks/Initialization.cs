using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>Weight initialisations of reference implementations that differ from PyTorch's default.</summary>
internal static class Initialization
{
    /// <summary>
    /// He (MSRA) normal initialisation by fan-out, as the VDSR and DRRN reference ports do
    /// (<c>m.weight.data.normal_(0, sqrt(2. / (k * k * out_channels)))</c> for every convolution). Applied to every
    /// 4-D parameter named <c>weight</c> of <paramref name="module"/> (convolutions; the [out, in, k, k] layout).
    /// Without it a 20-layer plain network starts with vanishing activations (PyTorch's default keeps about 1/3 of
    /// the variance per layer), and Adam barely moves it.
    /// </summary>
    public static void HeNormalFanOut(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (parameter.dim() != 4 || !(name == "weight" || name.EndsWith(".weight", StringComparison.Ordinal)))
                continue;
            long fanOut = parameter.shape[0] * parameter.shape[2] * parameter.shape[3];
            parameter.normal_(0, Math.Sqrt(2.0 / fanOut));
        }
    }

    /// <summary>
    /// <c>trunc_normal_(module.weight, std=std)</c>, as PLKSR and its real-world variant initialise their convolutions:
    /// a normal distribution with mean 0 cut at -2 and 2 (PyTorch's defaults), drawn here as <c>normal_(0, std)</c>,
    /// which is the same distribution for the small <paramref name="std"/> used (0.02: the cut lies 100 standard
    /// deviations out). TorchSharp 0.107's own <c>nn.init.trunc_normal_(t, 0, 0.02)</c> fills the tensor with 0.02
    /// (measured: standard deviation 2e-9), which made PLKSR's output NaN. <paramref name="module"/> is a layer with a
    /// parameter named <c>weight</c> (a convolution from <see cref="Layers"/>).
    /// </summary>
    public static void TruncatedNormalWeight(nn.Module module, double std)
    {
        if (!(std > 0 && std <= 0.1))
            throw new ArgumentOutOfRangeException(nameof(std), std, "Drawn as an untruncated normal: only for a standard deviation far below the cut at 2.");
        using var noGrad = no_grad();
        var weight = module.named_parameters().Single(p => p.name == "weight").parameter;
        weight.normal_(0, std);
    }
}
