using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRGAN's discriminator (Ledig et al., CVPR 2017), for the adversarial training of <see cref="SrResNet"/>: eight
/// convolutions 64, 64, 128, 128, 256, 256, 512, 512 (every second one stride 2), each but the first followed by BN,
/// all by LeakyReLU 0.2, then dense 1024, LeakyReLU 0.2 and dense 1. Keys and shapes follow twtygqyy/pytorch-SRResNet
/// srresnet.py <c>_NetD</c> (MIT): <c>features.{0,2,5,8,11,14,17,20}</c> (bias-free convolutions; the stride-2 ones
/// 4x4 with padding 1 as there, 3x3 in the paper), <c>features.{3,6,...,21}</c> (BN), <c>fc1</c>, <c>fc2</c>;
/// 26,000,705 parameters for 96x96 RGB patches.
/// </summary>
/// <remarks>
/// The dense head sees 512 x (size / 16)² features, so the patch size is fixed at construction (96 in the paper and the
/// reference). <c>forward</c> returns one logit per image, [N]; the reference applies a sigmoid there, which belongs in
/// the loss here (binary cross-entropy with logits is the numerically stable form). Initialisation as the reference:
/// convolution weights from N(0, 0.02), BN weight from N(1, 0.02), BN bias 0; the dense layers keep the default.
/// Not an <see cref="SrNetwork"/> and not registered as an architecture.
/// </remarks>
internal sealed class SrganDiscriminator : nn.Module<Tensor, Tensor>
{
    /// <summary>The negative slope of every LeakyReLU.</summary>
    private const double NegativeSlope = 0.2;

    /// <summary>Output channels of the eight convolutions.</summary>
    private static readonly int[] Widths = [64, 64, 128, 128, 256, 256, 512, 512];

    private readonly Sequential features;
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Builds the discriminator for <paramref name="channels"/>-channel patches of <paramref name="patchSize"/> x <paramref name="patchSize"/>.</summary>
    public SrganDiscriminator(int channels = 3, int patchSize = 96) : base("_NetD")
    {
        if (patchSize < 16 || patchSize % 16 != 0)
            throw new ArgumentOutOfRangeException(nameof(patchSize), patchSize, "The SRGAN discriminator needs a patch size that is a multiple of 16.");
        PatchSize = patchSize;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int inChannels = channels;
        for (int i = 0; i < Widths.Length; i++)
        {
            bool strided = i % 2 == 1;
            layers.Add(strided
                ? ChannelPaddedConv2d.Create(inChannels, Widths[i], 4, padding: 1, hasBias: false, stride: 2)
                : Layers.Conv(inChannels, Widths[i], 3, bias: false));
            if (i > 0)
                layers.Add(nn.BatchNorm2d(Widths[i]));
            layers.Add(nn.LeakyReLU(NegativeSlope));
            inChannels = Widths[i];
        }

        features = nn.Sequential(layers);
        int side = patchSize / 16;
        fc1 = nn.Linear(inChannels * side * side, 1024);
        fc2 = nn.Linear(1024, 1);
        RegisterComponents();

        using (no_grad())
        {
            foreach (var (name, parameter) in features.named_parameters())
            {
                if (parameter.dim() == 4)
                    parameter.normal_(0, 0.02);
                else if (name.EndsWith(".weight", StringComparison.Ordinal))
                    parameter.normal_(1, 0.02);
                else
                    parameter.zero_();
            }
        }
    }

    /// <summary>The height and width of the patches the dense head accepts.</summary>
    public int PatchSize { get; }

    /// <summary>Maps [N, C, PatchSize, PatchSize] to one logit per image, [N].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = features.forward(input).flatten(1);
        x = nn.functional.leaky_relu(fc1.forward(x), NegativeSlope);
        return fc2.forward(x).squeeze(1).MoveToOuterDisposeScope();
    }
}
