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
}
