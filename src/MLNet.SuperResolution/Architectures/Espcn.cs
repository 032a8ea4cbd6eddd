using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// ESPCN 5-3-3: Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
/// Convolutional Neural Network", CVPR 2016. Two tanh convolutions (5x5 to 64, 3x3 to 32) on the LR image, a 3x3
/// convolution to C*scale*scale channels and a pixel shuffle (sub-pixel convolution) to the HR grid. tanh is
/// <see cref="TanhActivation"/> (on the CPU, 2 sigmoid(2x) - 1: libtorch's MKL tanh is slow on AMD CPUs).
/// Keys follow yjn870/ESPCN-pytorch models.py (MIT): <c>first_part.{0,2}</c>, <c>last_part.0</c>; 21,284 (x2),
/// 22,729 (x3) and 24,752 (x4) parameters for one channel.
/// </summary>
internal sealed class Espcn : SrNetwork
{
    private readonly Sequential first_part;
    private readonly Sequential last_part;

    /// <summary>Builds ESPCN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Espcn(EspcnOptions options, int scale, int channels) : base(nameof(Espcn), scale, channels)
    {
        first_part = nn.Sequential(
            Layers.Conv(channels, options.NumFeat1, options.Kernel1),
            new TanhActivation(),
            Layers.Conv(options.NumFeat1, options.NumFeat2, options.Kernel2),
            new TanhActivation());
        last_part = nn.Sequential(
            Layers.Conv(options.NumFeat2, channels * scale * scale, options.Kernel3),
            nn.PixelShuffle(scale));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = first_part.forward(input);
        return last_part.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>ESPCN hyper-parameters: filter sizes and feature counts of the three layers.</summary>
public sealed record EspcnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Espcn;

    /// <summary>Features of the first layer. Paper 64.</summary>
    public int NumFeat1 { get; init; } = 64;

    /// <summary>Features of the second layer. Paper 32.</summary>
    public int NumFeat2 { get; init; } = 32;

    /// <summary>Kernel of the first layer. Paper 5.</summary>
    public int Kernel1 { get; init; } = 5;

    /// <summary>Kernel of the second layer. Paper 3.</summary>
    public int Kernel2 { get; init; } = 3;

    /// <summary>Kernel of the sub-pixel layer. Paper 3.</summary>
    public int Kernel3 { get; init; } = 3;

    /// <summary>The paper's 5-3-3 network (trained on Y).</summary>
    public static EspcnOptions Paper => new();

    /// <summary>The founding notes' configuration: the same layers, trained on RGB (set Channels = Rgb).</summary>
    public static EspcnOptions Notes => new();
}

internal sealed class EspcnDescriptor : SrNetworkDescriptor<EspcnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Espcn;
    public override string Citation => "Shi et al.: Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network, CVPR 2016";
    public override string Reference => "yjn870/ESPCN-pytorch models.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override EspcnOptions Paper => EspcnOptions.Paper;
    protected override EspcnOptions Notes => EspcnOptions.Notes;
    protected override SrNetwork Create(EspcnOptions options, int scale, int channels) => new Espcn(options, scale, channels);
}
