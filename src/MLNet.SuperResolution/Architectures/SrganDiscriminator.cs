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
/// Not an <see cref="SrNetwork"/> and not registered as an architecture; <see cref="Training.SrTrainer"/> trains it
/// against SRResNet when <see cref="SuperResolutionOptions.AdversarialLossWeight"/> is set. A smaller
/// <c>width</c> (the first convolution's channels; the paper's 64) scales every layer: convolutions width x
/// 1, 1, 2, 2, 4, 4, 8, 8 and a dense layer of 16 x width (1024 at 64).
/// </remarks>
internal sealed class SrganDiscriminator : nn.Module<Tensor, Tensor>
{
    /// <summary>The negative slope of every LeakyReLU.</summary>
    private const double NegativeSlope = 0.2;

    /// <summary>The paper's width: the first convolution's output channels.</summary>
    public const int PaperWidth = 64;

    /// <summary>Output channels of the eight convolutions, in units of the width.</summary>
    private static readonly int[] WidthMultiples = [1, 1, 2, 2, 4, 4, 8, 8];

    private readonly Sequential features;
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>
    /// Builds the discriminator for <paramref name="channels"/>-channel patches of <paramref name="patchSize"/> x
    /// <paramref name="patchSize"/>, with convolutions of <paramref name="width"/> x 1, 1, 2, 2, 4, 4, 8, 8 channels
    /// and a dense layer of 16 x <paramref name="width"/> (the paper's: 64, i.e. 64 ... 512 and 1024).
    /// </summary>
    public SrganDiscriminator(int channels = 3, int patchSize = 96, int width = PaperWidth) : base("_NetD")
    {
        if (patchSize < 16 || patchSize % 16 != 0)
            throw new ArgumentOutOfRangeException(nameof(patchSize), patchSize, "The SRGAN discriminator needs a patch size that is a multiple of 16.");
        if (width < 1)
            throw new ArgumentOutOfRangeException(nameof(width), width, "The SRGAN discriminator's width (its first convolution's channels) must be positive; the paper's is 64.");
        PatchSize = patchSize;
        Width = width;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int inChannels = channels;
        for (int i = 0; i < WidthMultiples.Length; i++)
        {
            int outChannels = WidthMultiples[i] * width;
            bool strided = i % 2 == 1;
            layers.Add(strided
                ? ChannelPaddedConv2d.Create(inChannels, outChannels, 4, padding: 1, hasBias: false, stride: 2)
                : Layers.Conv(inChannels, outChannels, 3, bias: false));
            if (i > 0)
                layers.Add(nn.BatchNorm2d(outChannels));
            layers.Add(new LeakyRelu(NegativeSlope));
            inChannels = outChannels;
        }

        features = nn.Sequential(layers);
        int side = patchSize / 16;
        fc1 = nn.Linear(inChannels * side * side, 16 * width);
        fc2 = nn.Linear(16 * width, 1);
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

    /// <summary>The first convolution's output channels (64 in the paper); every layer scales with it.</summary>
    public int Width { get; }

    /// <summary>Maps [N, C, PatchSize, PatchSize] to one logit per image, [N].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = features.forward(input).flatten(1);
        x = fc1.forward(x).LeakyRelu(NegativeSlope);
        return fc2.forward(x).squeeze(1).MoveToOuterDisposeScope();
    }
}
