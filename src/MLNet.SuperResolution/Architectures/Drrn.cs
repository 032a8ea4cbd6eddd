using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// DRRN B1U25: Tai, Yang and Liu, "Image Super-Resolution via Deep Recursive Residual Network", CVPR 2017.
/// On the upscaled image, an input conv (C -> 128) starts one recursive block whose residual unit
/// (ReLU, conv, ReLU, conv, + the block input) is applied U times with the same two convolutions; an output conv
/// (128 -> C) gives the residual added to the upscaled image. Pre-activation throughout, no biases.
/// Keys follow jt827859032/DRRN-pytorch drrn.py (MIT): <c>input</c>, <c>conv1</c>, <c>conv2</c>, <c>output</c>;
/// 297,216 parameters for one channel. Weights start as the reference initialises them (He normal by fan-out).
/// </summary>
internal sealed class Drrn : PreUpsampledNetwork
{
    private readonly nn.Module<Tensor, Tensor> input;
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> output;
    private readonly int _numUnit;

    /// <summary>Builds DRRN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Drrn(DrrnOptions options, int scale, int channels)
        : base(nameof(Drrn), scale, channels, options.PreUpsampling)
    {
        if (options.NumUnit < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumUnit, "DRRN needs at least one residual unit.");
        input = Layers.Conv(channels, options.NumFeat, 3, bias: false);
        conv1 = Layers.Conv(options.NumFeat, options.NumFeat, 3, bias: false);
        conv2 = Layers.Conv(options.NumFeat, options.NumFeat, 3, bias: false);
        output = Layers.Conv(options.NumFeat, channels, 3, bias: false);
        _numUnit = options.NumUnit;
        RegisterComponents();
        Initialization.HeNormalFanOut(this);
    }

    /// <inheritdoc />
    public override Tensor Refine(Tensor upscaled)
    {
        using var scope = NewDisposeScope();
        var head = input.forward(nn.functional.relu(upscaled));
        var x = head;
        for (int u = 0; u < _numUnit; u++)
            x = conv2.forward(nn.functional.relu(conv1.forward(nn.functional.relu(x)))).Plus(head);
        return output.forward(nn.functional.relu(x)).Plus(upscaled).MoveToOuterDisposeScope();
    }
}

/// <summary>DRRN hyper-parameters (one recursive block, B1, as the reference implementation).</summary>
public sealed record DrrnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Drrn;

    /// <summary>Features of the recursive block. Paper 128.</summary>
    public int NumFeat { get; init; } = 128;

    /// <summary>Recursions U of the shared residual unit. Paper 25 (B1U25); the notes 10.</summary>
    public int NumUnit { get; init; } = 25;

    /// <summary>How the LR input is upscaled first. Paper bicubic.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>The paper's B1U25 network (52 layers).</summary>
    public static DrrnOptions Paper => new();

    /// <summary>The founding notes' B1U10 network.</summary>
    public static DrrnOptions Notes => new() { NumUnit = 10 };
}

internal sealed class DrrnDescriptor : SrNetworkDescriptor<DrrnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Drrn;
    public override string Citation => "Tai, Yang, Liu: Image Super-Resolution via Deep Recursive Residual Network, CVPR 2017";
    public override string Reference => "jt827859032/DRRN-pytorch drrn.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override DrrnOptions Paper => DrrnOptions.Paper;
    protected override DrrnOptions Notes => DrrnOptions.Notes;
    protected override SrNetwork Create(DrrnOptions options, int scale, int channels) => new Drrn(options, scale, channels);
}
