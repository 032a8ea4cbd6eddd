using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// RED-Net (RED30): Mao, Shen and Yang, "Image Restoration Using Very Deep Convolutional Encoder-Decoder Networks with
/// Symmetric Skip Connections", NIPS 2016. The LR image is upscaled with MATLAB bicubic (<see cref="PreUpsampling"/>),
/// then n 3x3 convolutions (encoder) and n 3x3 transposed convolutions (decoder), all with ReLU, stride 1; every second
/// encoder output is added to the mirrored decoder output (then ReLU), and the input image is added to the last
/// decoder output (then ReLU).
/// Keys and skip pattern follow yjn870/REDNet-pytorch model.py (<c>REDNet30</c>; no licence file):
/// <c>conv_layers.{i}.0</c>, <c>deconv_layers.{i}.0</c> (i &lt; n - 1) and <c>deconv_layers.{n-1}</c>.
/// With 128 features (the authors' Caffe release) 4,134,785 parameters for one channel.
/// </summary>
/// <remarks>
/// Deviation from the reference: its first convolution and last transposed convolution use stride 2 "to reduce
/// computational cost" (its README); the paper, and this class, use stride 1 throughout. Parameter counts are the same.
/// </remarks>
internal sealed class Red : SrNetwork
{
    private readonly Sequential conv_layers;
    private readonly Sequential deconv_layers;

    private readonly nn.Module<Tensor, Tensor>[] _convs;
    private readonly nn.Module<Tensor, Tensor>[] _deconvs;
    private readonly SrPreUpsampling _preUpsampling;

    /// <summary>Builds RED-Net for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Red(RedOptions options, int scale, int channels) : base(nameof(Red), scale, channels)
    {
        if (options.NumLayers < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumLayers, "RED-Net needs at least one conv/deconv pair.");
        int f = options.NumFeat, n = options.NumLayers;

        var convs = new List<nn.Module<Tensor, Tensor>> { nn.Sequential(Layers.Conv(channels, f, 3), nn.ReLU()) };
        for (int i = 0; i < n - 1; i++)
            convs.Add(nn.Sequential(Layers.Conv(f, f, 3), nn.ReLU()));

        var deconvs = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < n - 1; i++)
            deconvs.Add(nn.Sequential(new ChannelPaddedConvTranspose2d(f, f, 3, padding: 1), nn.ReLU()));
        deconvs.Add(new ChannelPaddedConvTranspose2d(f, channels, 3, padding: 1));

        conv_layers = nn.Sequential(convs);
        deconv_layers = nn.Sequential(deconvs);
        _preUpsampling = options.PreUpsampling;
        RegisterComponents();
        _convs = [.. convs];
        _deconvs = [.. deconvs];
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var residual = PreUpsampling.Apply(input, Scale, _preUpsampling);
        int n = _convs.Length;

        // Encoder: keep the outputs of conv 2, 4, ... (1-based), at most ceil(n / 2) - 1 of them.
        var x = residual;
        var features = new List<Tensor>();
        for (int i = 0; i < n; i++)
        {
            x = _convs[i].forward(x);
            if ((i + 1) % 2 == 0 && features.Count < (n + 1) / 2 - 1)
                features.Add(x);
        }

        // Decoder: add them back in reverse order after every second deconvolution (counted as the reference does).
        int used = 0;
        for (int i = 0; i < n; i++)
        {
            x = _deconvs[i].forward(x);
            if ((i + 1 + n) % 2 == 0 && used < features.Count)
            {
                x = nn.functional.relu(x.Plus(features[features.Count - 1 - used]));
                used++;
            }
        }

        return nn.functional.relu(x.Plus(residual)).MoveToOuterDisposeScope();
    }
}

/// <summary>RED-Net hyper-parameters.</summary>
public sealed record RedOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Red;

    /// <summary>Feature channels of every hidden layer. Paper 128 (the authors' Caffe release; ~4.1M parameters for RED30).</summary>
    public int NumFeat { get; init; } = 128;

    /// <summary>Convolutions in the encoder, and as many transposed convolutions in the decoder. Paper 15 (RED30).</summary>
    public int NumLayers { get; init; } = 15;

    /// <summary>How the LR input is upscaled first. Paper bicubic.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>RED30: 15 conv + 15 deconv layers with 128 features, on the bicubic-upscaled image.</summary>
    public static RedOptions Paper => new();

    /// <summary>
    /// The founding notes' small network: 6 conv + 6 deconv layers with 64 features, so d = 3 skip connections
    /// (two symmetric feature skips and the input-to-output skip).
    /// </summary>
    public static RedOptions Notes => new() { NumFeat = 64, NumLayers = 6 };
}

internal sealed class RedDescriptor : SrNetworkDescriptor<RedOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Red;
    public override string Citation => "Mao, Shen, Yang: Image Restoration Using Very Deep Convolutional Encoder-Decoder Networks with Symmetric Skip Connections, NIPS 2016";
    public override string Reference => "yjn870/REDNet-pytorch model.py (no licence stated)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override RedOptions Paper => RedOptions.Paper;
    protected override RedOptions Notes => RedOptions.Notes;
    protected override SrNetwork Create(RedOptions options, int scale, int channels) => new Red(options, scale, channels);
}
