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
    private readonly Sequential first_part;
    private readonly Sequential mid_part;
    private readonly nn.Module<Tensor, Tensor> last_part;

    /// <summary>Builds FSRCNN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Fsrcnn(FsrcnnOptions options, int scale, int channels) : base(nameof(Fsrcnn), scale, channels)
    {
        int d = options.D, s = options.S;
        first_part = nn.Sequential(Layers.Conv(channels, d, 5), nn.PReLU(d));

        var mid = new List<nn.Module<Tensor, Tensor>> { Layers.Conv(d, s, 1), nn.PReLU(s) };
        for (int i = 0; i < options.M; i++)
        {
            mid.Add(Layers.Conv(s, s, 3));
            mid.Add(nn.PReLU(s));
        }

        mid.Add(Layers.Conv(s, d, 1));
        mid.Add(nn.PReLU(d));
        mid_part = nn.Sequential(mid);

        last_part = options.Upsampling == FsrcnnUpsampling.TransposedConvolution
            ? new ChannelPaddedConvTranspose2d(d, channels, 9, stride: scale, padding: 4, outputPadding: scale - 1)
            : nn.Sequential(new BilinearUpsample(scale), Layers.Conv(d, channels, 9));

        RegisterComponents();
        InitializeWeights();
    }

    /// <summary>
    /// The reference's <c>_initialize_weights</c>: He-normal convolution weights (std sqrt(2 / (out * k * k))) in
    /// <c>first_part</c> and <c>mid_part</c>, the tail's weights N(0, 0.001), all biases zero; PReLU slopes keep 0.25.
    /// PyTorch's default initialisation instead shrinks the signal through the eight PReLU layers: trained from it
    /// (Notes, RGB, x2, 4,000 steps of batch 4) FSRCNN stayed at 26-27 dB on Set5 with a colour cast, below bicubic.
    /// </summary>
    private void InitializeWeights()
    {
        Initialization.HeNormalFanOut(first_part);
        Initialization.HeNormalFanOut(mid_part);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.StartsWith("last_part.", StringComparison.Ordinal) && parameter.dim() == 4)
                parameter.normal_(0, 0.001);
            else if (name.EndsWith("bias", StringComparison.Ordinal))
                parameter.zero_();
        }
    }

    /// <summary>The paper and the reference train the tail at a tenth of the rate (1e-4 against 1e-3).</summary>
    public override IReadOnlyList<(string Prefix, double Scale)> LearningRateScales { get; } = [("last_part.", 0.1)];

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = first_part.forward(input);
        x = mid_part.forward(x);
        return last_part.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>How FSRCNN's tail upscales.</summary>
public enum FsrcnnUpsampling
{
    /// <summary>A 9x9 transposed convolution with stride = scale (the paper).</summary>
    TransposedConvolution = 0,

    /// <summary>Bilinear upsampling, then a 9x9 convolution (the founding notes).</summary>
    BilinearThenConvolution = 1,
}

/// <summary>FSRCNN hyper-parameters (the paper's d, s, m).</summary>
public sealed record FsrcnnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Fsrcnn;

    /// <summary>Feature channels d. Paper 56.</summary>
    public int D { get; init; } = 56;

    /// <summary>Shrunk channels s. Paper 12.</summary>
    public int S { get; init; } = 12;

    /// <summary>Mapping layers m. Paper 4.</summary>
    public int M { get; init; } = 4;

    /// <summary>How the tail upscales. Paper: transposed convolution.</summary>
    public FsrcnnUpsampling Upsampling { get; init; } = FsrcnnUpsampling.TransposedConvolution;

    /// <summary>FSRCNN(56, 12, 4) with its 9x9 transposed convolution (trained on Y).</summary>
    public static FsrcnnOptions Paper => new();

    /// <summary>The founding notes' variant: bilinear upsampling then a 9x9 convolution (RGB).</summary>
    public static FsrcnnOptions Notes => new() { Upsampling = FsrcnnUpsampling.BilinearThenConvolution };
}

internal sealed class FsrcnnDescriptor : SrNetworkDescriptor<FsrcnnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Fsrcnn;
    public override string Citation => "Dong, Loy, Tang: Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016";
    public override string Reference => "yjn870/FSRCNN-pytorch models.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override FsrcnnOptions Paper => FsrcnnOptions.Paper;
    protected override FsrcnnOptions Notes => FsrcnnOptions.Notes;
    protected override SrNetwork Create(FsrcnnOptions options, int scale, int channels) => new Fsrcnn(options, scale, channels);
}
