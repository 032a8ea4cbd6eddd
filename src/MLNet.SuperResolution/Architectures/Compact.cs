using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRVGGNetCompact, Real-ESRGAN's compact network (Wang, Xie, Dong, Shan, "Real-ESRGAN: Training Real-World Blind
/// Super-Resolution with Pure Synthetic Data", ICCVW 2021; realesr-animevideov3, realesr-general-x4v3): a plain
/// stack of 3x3 convolutions with PReLU on the low-resolution grid, the last one to C·s² channels, a pixel shuffle,
/// and the nearest-neighbour upscaled input added (the network learns the residual). Keys follow xinntao/Real-ESRGAN
/// realesrgan/archs/srvgg_arch.py (BSD-3-Clause): <c>body.{0}</c> the first convolution, <c>body.{2i+1}</c> the
/// activations (PReLU weights), <c>body.{2i}</c> the convolutions, <c>body.{2n+2}</c> the last convolution.
/// realesr-general-x4v3's configuration (64 features, 32 convolutions) has 1,213,296 parameters at x4.
/// </summary>
internal sealed class Compact : SrNetwork
{
    private readonly Sequential body;
    private readonly long _scale;

    /// <summary>Builds SRVGGNetCompact for <paramref name="scale"/> and <paramref name="channels"/> (3 = RGB; 1 = grayscale).</summary>
    public Compact(CompactOptions options, int scale, int channels) : base(nameof(Compact), scale, channels)
    {
        _scale = scale;
        var layers = new List<nn.Module<Tensor, Tensor>> { Layers.Conv(channels, options.NumFeat, 3), Activation(options) };
        for (int i = 0; i < options.NumConv; i++)
        {
            layers.Add(Layers.Conv(options.NumFeat, options.NumFeat, 3));
            layers.Add(Activation(options));
        }

        layers.Add(Layers.Conv(options.NumFeat, channels * scale * scale, 3));
        body = nn.Sequential(layers.ToArray());
        RegisterComponents();
    }

    private static nn.Module<Tensor, Tensor> Activation(CompactOptions options) => options.Activation switch
    {
        SrCompactActivation.PRelu => nn.PReLU(options.NumFeat, 0.25),
        SrCompactActivation.Relu => nn.ReLU(),
        _ => new LeakyRelu(0.1),
    };

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var residual = nn.functional.pixel_shuffle(body.forward(input), _scale);
        var upscaled = _scale == 1 ? input : nn.functional.interpolate(input, scale_factor: [(double)_scale, _scale], mode: InterpolationMode.Nearest);
        return residual.PlusInPlace(upscaled).MoveToOuterDisposeScope();
    }
}

/// <summary>The activation of <see cref="CompactOptions"/> (Real-ESRGAN's <c>act_type</c>).</summary>
public enum SrCompactActivation
{
    /// <summary>PReLU with a slope per feature (<c>prelu</c>, the default and what published models use).</summary>
    PRelu = 0,

    /// <summary>ReLU (<c>relu</c>).</summary>
    Relu = 1,

    /// <summary>LeakyReLU with slope 0.1 (<c>leakyrelu</c>).</summary>
    LeakyRelu = 2,
}

/// <summary>SRVGGNetCompact hyper-parameters, named as Real-ESRGAN names them.</summary>
public sealed record CompactOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Compact;

    /// <summary>Features of every convolution (<c>num_feat</c>). Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Convolutions between the first and the last (<c>num_conv</c>). Paper 32 (realesr-general-x4v3); realesr-animevideov3 16.</summary>
    public int NumConv { get; init; } = 32;

    /// <summary>The activation after each convolution but the last (<c>act_type</c>). Default PReLU.</summary>
    public SrCompactActivation Activation { get; init; } = SrCompactActivation.PRelu;

    /// <summary>realesr-general-x4v3's configuration: 32 convolutions of 64 features with PReLU.</summary>
    public static CompactOptions Paper => new();

    /// <summary>A small configuration for CPU training: 8 convolutions of 32 features.</summary>
    public static CompactOptions Notes => new() { NumFeat = 32, NumConv = 8 };
}

internal sealed class CompactDescriptor : SrNetworkDescriptor<CompactOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Compact;
    public override string Citation => "Wang, Xie, Dong, Shan: Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data, ICCVW 2021 (SRVGGNetCompact)";
    public override string Reference => "xinntao/Real-ESRGAN realesrgan/archs/srvgg_arch.py (BSD-3-Clause)";
    public override IReadOnlyList<int> Scales { get; } = [1, 2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override CompactOptions Paper => CompactOptions.Paper;
    protected override CompactOptions Notes => CompactOptions.Notes;
    protected override SrNetwork Create(CompactOptions options, int scale, int channels) => new Compact(options, scale, channels);

    public override IReadOnlyList<string> MarkerKeys { get; } = ["body.0.weight", "body.1.weight", "body.2.weight"];

    /// <summary>
    /// <c>body.{i}</c> convolutions (4-D weights) alternating with PReLU weights (1-D, one per feature) and ending with a
    /// convolution to C·s² channels (spandrel's Compact rule): features from <c>body.0</c>, convolutions from the
    /// sequence's length, channels from <c>body.0</c>'s input, scale from the last convolution's outputs / channels.
    /// Files saved with ReLU or LeakyReLU hold no activation weights and cannot be told from each other.
    /// </summary>
    public override Detection? Detect(StateDictShapes stateDict)
    {
        if (!stateDict.HasAll("body.0.weight", "body.0.bias", "body.2.weight") || stateDict.Shape("body.0.weight").Length != 4)
            return null;
        int length = stateDict.SequenceLength("body.");
        for (int i = 0; i < length; i += 2)
            if (!stateDict.Has($"body.{i}.weight") || stateDict.Shape($"body.{i}.weight").Length != 4)
                return null; // even indices are convolutions in SRVGGNetCompact; something else has body.* keys
        if (!stateDict.Has("body.1.weight") || stateDict.Shape("body.1.weight").Length != 1)
            throw new InvalidDataException(
                "it looks like Real-ESRGAN's SRVGGNetCompact without PReLU weights (saved with act_type relu or leakyrelu, which a file cannot tell apart); only PReLU files are detected");
        int channels = stateDict.Dim("body.0.weight", 1), numFeat = stateDict.Dim("body.0.weight", 0);
        int lastOutputs = stateDict.Dim($"body.{length - 1}.weight", 0);
        int scale = (int)Math.Round(Math.Sqrt(lastOutputs / (double)channels));
        if (channels is not (1 or 3) || scale < 1 || channels * scale * scale != lastOutputs)
            throw new InvalidDataException(
                $"its SRVGGNetCompact takes {channels} channels and ends with {lastOutputs}: not channels x scale² for 1 or 3 channels");
        var options = new CompactOptions { NumFeat = numFeat, NumConv = (length - 3) / 2 };
        return new Detection(options, scale, channels, "Real-ESRGAN layout");
    }
}
