using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// VDSR: Kim, Lee and Lee, "Accurate Image Super-Resolution Using Very Deep Convolutional Networks", CVPR 2016.
/// The LR image is upscaled (MATLAB bicubic in the paper), then a chain of 3x3 convolutions with ReLUs predicts the
/// residual that is added back: input conv C -> 64, (layers - 2) conv 64 -> 64, output conv 64 -> C.
/// Keys follow twtygqyy/pytorch-vdsr vdsr.py (MIT): <c>input.weight</c>, <c>residual_layer.{i}.conv.weight</c>,
/// <c>output.weight</c>, all without bias; 664,704 parameters for one channel and 20 layers. Weights start as the
/// reference initialises them (He normal by fan-out; biases, when enabled, PyTorch's default).
/// </summary>
internal sealed class Vdsr : PreUpsampledNetwork
{
    private readonly nn.Module<Tensor, Tensor> input;
    private readonly Sequential residual_layer;
    private readonly nn.Module<Tensor, Tensor> output;

    /// <summary>Builds VDSR for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Vdsr(VdsrOptions options, int scale, int channels)
        : base(nameof(Vdsr), scale, channels, options.PreUpsampling)
    {
        if (options.NumLayer < 3)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumLayer, "VDSR needs at least 3 layers.");
        input = Layers.Conv(channels, options.NumFeat, 3, options.Bias);
        residual_layer = nn.Sequential(Enumerable.Range(0, options.NumLayer - 2)
            .Select(_ => (nn.Module<Tensor, Tensor>)new ConvRelu(options.NumFeat, options.NumFeat, 3, options.Bias))
            .ToArray());
        output = Layers.Conv(options.NumFeat, channels, 3, options.Bias);
        RegisterComponents();
        Initialization.HeNormalFanOut(this);
    }

    /// <inheritdoc />
    public override Tensor Refine(Tensor upscaled)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(input.forward(upscaled));
        x = output.forward(residual_layer.forward(x));
        return x.Plus(upscaled).MoveToOuterDisposeScope();
    }
}

/// <summary>VDSR hyper-parameters.</summary>
public sealed record VdsrOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Vdsr;

    /// <summary>Convolution layers in all (input and output included). Paper 20; the notes 10.</summary>
    public int NumLayer { get; init; } = 20;

    /// <summary>Features of the hidden layers. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>
    /// Whether the convolutions have biases. The paper's Caffe model has them; the reference PyTorch port (and its
    /// published weights) has none, which the paper preset follows (664,704 parameters; with biases 665,921).
    /// </summary>
    public bool Bias { get; init; }

    /// <summary>How the LR input is upscaled first. Paper bicubic.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>The paper's 20-layer network (bias-free, as pytorch-vdsr, so its weights load 1:1).</summary>
    public static VdsrOptions Paper => new();

    /// <summary>The founding notes' 10-layer network.</summary>
    public static VdsrOptions Notes => new() { NumLayer = 10 };
}

internal sealed class VdsrDescriptor : SrNetworkDescriptor<VdsrOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Vdsr;
    public override string Citation => "Kim, Lee, Lee: Accurate Image Super-Resolution Using Very Deep Convolutional Networks, CVPR 2016";
    public override string Reference => "twtygqyy/pytorch-vdsr vdsr.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override VdsrOptions Paper => VdsrOptions.Paper;
    protected override VdsrOptions Notes => VdsrOptions.Notes;
    protected override SrNetwork Create(VdsrOptions options, int scale, int channels) => new Vdsr(options, scale, channels);
}
