using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRResNet, the generator of SRGAN: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
/// Adversarial Network", CVPR 2017. A 9x9 input convolution to 64 features (LeakyReLU), 16 residual blocks
/// (conv-BN-LeakyReLU-conv-BN with identity skip), a 3x3 convolution with BN added to the input features (global
/// skip), sub-pixel upsampling (x2 stages with LeakyReLU) and a 9x9 output convolution. No convolution has a bias.
/// Keys follow twtygqyy/pytorch-SRResNet srresnet.py (MIT) in its BatchNorm version (commit 11cf32c, class
/// <c>Net</c>; the later <c>_NetG</c> swaps the BNs for affine InstanceNorms named <c>in1</c>/<c>in2</c>, same count):
/// <c>conv_input</c>, <c>residual.{i}.conv1</c>, <c>.bn1</c>, <c>.conv2</c>, <c>.bn2</c>, <c>conv_mid</c>,
/// <c>bn_mid</c>, <c>upscale4x.{0,3}</c>, <c>conv_output</c>; 1,546,752 trainable parameters at x4 for RGB.
/// </summary>
/// <remarks>
/// The reference (and the paper) is x4: two conv 64 -> 256 + PixelShuffle(2) + LeakyReLU stages. Ours for x2 (one
/// such stage) and x3 (one conv 64 -> 576 + PixelShuffle(3) + LeakyReLU stage), keeping the key <c>upscale4x</c>.
/// The BN layers use batch statistics in train() and their running statistics (buffers, saved with the weights) in
/// eval(). Initialisation as the reference: convolution weights from N(0, 2 / (k * k * out)), BN weight 1, bias 0.
/// </remarks>
internal sealed class SrResNet : SrNetwork
{
    /// <summary>The negative slope of every LeakyReLU (the reference's; the paper uses PReLU).</summary>
    private const double NegativeSlope = 0.2;

    private readonly nn.Module<Tensor, Tensor> conv_input;
    private readonly Sequential residual;
    private readonly nn.Module<Tensor, Tensor> conv_mid;
    private readonly BatchNorm2d bn_mid;
    private readonly Sequential upscale4x;
    private readonly nn.Module<Tensor, Tensor> conv_output;

    /// <summary>Builds SRResNet for <paramref name="scale"/> (2, 3 or 4) and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public SrResNet(SrResNetOptions options, int scale, int channels) : base(nameof(SrResNet), scale, channels)
    {
        if (options.NumBlock < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumBlock, "SRResNet needs at least one residual block.");
        int f = options.NumFeat;
        conv_input = Layers.Conv(channels, f, 9, bias: false);
        residual = nn.Sequential(Enumerable.Range(0, options.NumBlock)
            .Select(_ => (nn.Module<Tensor, Tensor>)new BatchNormResidualBlock(f)).ToArray());
        conv_mid = Layers.Conv(f, f, 3, bias: false);
        bn_mid = nn.BatchNorm2d(f);
        upscale4x = nn.Sequential(UpscaleLayers(scale, f).ToArray());
        conv_output = Layers.Conv(f, channels, 9, bias: false);
        RegisterComponents();

        Initialization.HeNormalFanOut(this);
    }

    /// <summary>[conv 3x3 f -> r²f, PixelShuffle(r), LeakyReLU] per stage: r = 2 twice (x4), once (x2), r = 3 once (x3).</summary>
    private static IEnumerable<nn.Module<Tensor, Tensor>> UpscaleLayers(int scale, int numFeat)
    {
        int[] stages = scale switch
        {
            2 => [2],
            3 => [3],
            4 => [2, 2],
            _ => throw new ArgumentOutOfRangeException(nameof(scale), scale, "SRResNet upscales by 2, 3 or 4."),
        };
        foreach (int r in stages)
        {
            yield return Layers.Conv(numFeat, r * r * numFeat, 3, bias: false);
            yield return nn.PixelShuffle(r);
            yield return new LeakyRelu(NegativeSlope);
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = conv_input.forward(input).LeakyRelu(NegativeSlope);
        var x = bn_mid.forward(conv_mid.forward(residual.forward(features))).Plus(features);
        return conv_output.forward(upscale4x.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The reference's <c>_Residual_Block</c>: conv 3x3 -> BN -> LeakyReLU 0.2 -> conv 3x3 -> BN, plus the input.
    /// Keys <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>.
    /// </summary>
    private sealed class BatchNormResidualBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv1;
        private readonly BatchNorm2d bn1;
        private readonly nn.Module<Tensor, Tensor> conv2;
        private readonly BatchNorm2d bn2;

        /// <summary>Builds the block over <paramref name="numFeat"/> channels.</summary>
        public BatchNormResidualBlock(int numFeat) : base("_Residual_Block")
        {
            conv1 = Layers.Conv(numFeat, numFeat, 3, bias: false);
            bn1 = nn.BatchNorm2d(numFeat);
            conv2 = Layers.Conv(numFeat, numFeat, 3, bias: false);
            bn2 = nn.BatchNorm2d(numFeat);
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x = bn1.forward(conv1.forward(input)).LeakyRelu(NegativeSlope);
            return bn2.forward(conv2.forward(x)).Plus(input).MoveToOuterDisposeScope();
        }
    }
}

/// <summary>SRResNet (SRGAN generator) hyper-parameters.</summary>
public sealed record SrResNetOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.SrResNet;

    /// <summary>Feature channels. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Residual blocks (conv-BN-LeakyReLU-conv-BN). Paper 16; the notes 8.</summary>
    public int NumBlock { get; init; } = 16;

    /// <summary>The paper's network: 16 residual blocks of 64 features (1,546,752 parameters at x4, RGB).</summary>
    public static SrResNetOptions Paper => new();

    /// <summary>The founding notes' smaller network: 8 residual blocks.</summary>
    public static SrResNetOptions Notes => new() { NumBlock = 8 };
}

internal sealed class SrResNetDescriptor : SrNetworkDescriptor<SrResNetOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.SrResNet;
    public override string Citation => "Ledig et al.: Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network, CVPR 2017";
    public override string Reference => "twtygqyy/pytorch-SRResNet srresnet.py, BatchNorm version (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override SrResNetOptions Paper => SrResNetOptions.Paper;
    protected override SrResNetOptions Notes => SrResNetOptions.Notes;
    protected override SrNetwork Create(SrResNetOptions options, int scale, int channels) => new SrResNet(options, scale, channels);
}
