using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRCNN 9-5-5: Dong, Loy, He and Tang, "Image Super-Resolution Using Deep Convolutional Networks", ECCV 2014 /
/// TPAMI 2016. The LR image is first upscaled with MATLAB bicubic (<see cref="PreUpsampling"/>), then refined by
/// three convolutions (9x9 to 64, ReLU, 5x5 to 32, ReLU, 5x5 to C), zero-padded so the size is kept.
/// Keys follow yjn870/SRCNN-pytorch models.py (MIT): <c>conv1</c>, <c>conv2</c>, <c>conv3</c>; 57,281 parameters for
/// one channel.
/// </summary>
internal sealed class Srcnn : SrNetwork
{
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> conv3;

    private readonly SrPreUpsampling _preUpsampling;

    /// <summary>Builds SRCNN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Srcnn(SrcnnOptions options, int scale, int channels) : base(nameof(Srcnn), scale, channels)
    {
        conv1 = Layers.Conv(channels, options.NumFeat1, options.Kernel1);
        conv2 = Layers.Conv(options.NumFeat1, options.NumFeat2, options.Kernel2);
        conv3 = Layers.Conv(options.NumFeat2, channels, options.Kernel3);
        _preUpsampling = options.PreUpsampling;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = PreUpsampling.Apply(input, Scale, _preUpsampling);
        x = nn.functional.relu(conv1.forward(x));
        x = nn.functional.relu(conv2.forward(x));
        return conv3.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>SRCNN hyper-parameters: filter sizes f1-f2-f3 and feature counts n1, n2.</summary>
public sealed record SrcnnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Srcnn;

    /// <summary>Features of the first layer (n1). Paper 64.</summary>
    public int NumFeat1 { get; init; } = 64;

    /// <summary>Features of the second layer (n2). Paper 32.</summary>
    public int NumFeat2 { get; init; } = 32;

    /// <summary>Kernel of the first layer (f1). Paper 9.</summary>
    public int Kernel1 { get; init; } = 9;

    /// <summary>Kernel of the second layer (f2). Paper 5 (the 9-5-5 network); the notes use 1 (9-1-5).</summary>
    public int Kernel2 { get; init; } = 5;

    /// <summary>Kernel of the last layer (f3). Paper 5.</summary>
    public int Kernel3 { get; init; } = 5;

    /// <summary>How the LR input is upscaled first. Paper bicubic; the notes bilinear.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>The paper's 9-5-5 network.</summary>
    public static SrcnnOptions Paper => new();

    /// <summary>The founding notes' 9-1-5 network with bilinear pre-upsampling.</summary>
    public static SrcnnOptions Notes => new() { Kernel2 = 1, PreUpsampling = SrPreUpsampling.Bilinear };
}

internal sealed class SrcnnDescriptor : SrNetworkDescriptor<SrcnnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Srcnn;
    public override string Citation => "Dong, Loy, He, Tang: Image Super-Resolution Using Deep Convolutional Networks, ECCV 2014 / TPAMI 2016";
    public override string Reference => "yjn870/SRCNN-pytorch models.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override SrcnnOptions Paper => SrcnnOptions.Paper;
    protected override SrcnnOptions Notes => SrcnnOptions.Notes;
    protected override SrNetwork Create(SrcnnOptions options, int scale, int channels) => new Srcnn(options, scale, channels);
}
