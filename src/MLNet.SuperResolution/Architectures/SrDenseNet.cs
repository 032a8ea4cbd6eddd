using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SRDenseNet_All: Tong, Li, Liu and Gao, "Image Super-Resolution Using Dense Skip Connections", ICCV 2017.
/// A 3x3 conv+ReLU to L·g low-level features, B dense blocks (L conv+ReLU layers of growth g each, 3x3), every
/// block seeing the low-level features and all earlier blocks' outputs (dense skip connections), a 1x1 bottleneck of
/// all levels (L·g + B·L·g -> 256, ReLU), 3x3 transposed convolutions of 256 channels (stride 2 each, with ReLU) and
/// a 3x3 reconstruction conv 256 -> C, all on the LR grid until the deconvolutions.
/// Keys follow yjn870/SRDenseNet-pytorch models.py (no licence file in the repository; structure and names followed,
/// no code copied): <c>conv.conv</c>, <c>dense_blocks.{b}.block.{l}.conv</c>, <c>bottleneck.0</c>,
/// <c>deconv.{0,2}</c>, <c>reconstruction</c>; 2,659,585 (x4) and 2,069,505 (x2, x3) parameters for one channel
/// (B8 L8 g16). Initialisation as the reference: Kaiming-normal (ReLU gain, fan-in) weights, zero biases.
/// </summary>
/// <remarks>
/// Scales: the paper and the reference are x4 only (two stride-2 deconvolutions). Ours: x2 keeps one stride-2
/// deconvolution (keys <c>deconv.0</c>); x3 uses one 3x3 stride-3 deconvolution (padding 0, output exactly 3h;
/// our choice, not in the paper). Within a block, layer l ≥ 1 sees only the block's own earlier layers, the block
/// input reaching the output through the concatenation at its end, exactly as the reference (and the paper's
/// figure) wires it.
/// </remarks>
internal sealed class SrDenseNet : SrNetwork
{
    private readonly ConvRelu conv;
    private readonly Sequential dense_blocks;
    private readonly Sequential bottleneck;
    private readonly Sequential deconv;
    private readonly nn.Module<Tensor, Tensor> reconstruction;
    private readonly SkipDenseBlock[] _blocks; // the same modules as dense_blocks, for the in-place path (an array: not registered twice)
    private readonly long _featureChannels;

    /// <summary>Builds SRDenseNet for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public SrDenseNet(SrDenseNetOptions options, int scale, int channels) : base(nameof(SrDenseNet), scale, channels)
    {
        if (options.NumBlock < 1 || options.NumLayer < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "SRDenseNet needs at least one dense block of at least one layer.");
        int g = options.GrowthRate, blockWidth = g * options.NumLayer, numFeat = options.NumFeat;
        conv = new ConvRelu(channels, blockWidth, 3);
        _blocks = new SkipDenseBlock[options.NumBlock];
        for (int b = 0; b < options.NumBlock; b++)
            _blocks[b] = new SkipDenseBlock(blockWidth * (b + 1), g, options.NumLayer);
        dense_blocks = nn.Sequential(_blocks);
        _featureChannels = blockWidth * (options.NumBlock + 1);
        bottleneck = nn.Sequential(Layers.Conv(_featureChannels, numFeat, 1), nn.ReLU());
        deconv = Deconvolutions(scale, numFeat);
        reconstruction = Layers.Conv(numFeat, channels, 3);
        RegisterComponents();
        InitialiseAsReference();
    }

    /// <summary>[deconv 3x3 stride 2, ReLU] per factor 2 (padding 1, output padding 1: 2h); x3 one stride-3 deconv.</summary>
    private static Sequential Deconvolutions(int scale, int numFeat)
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (scale == 3)
        {
            layers.Add(new ChannelPaddedConvTranspose2d(numFeat, numFeat, 3, stride: 3));
            layers.Add(nn.ReLU());
        }
        else if (scale >= 2 && (scale & (scale - 1)) == 0)
        {
            for (int s = scale; s > 1; s /= 2)
            {
                layers.Add(new ChannelPaddedConvTranspose2d(numFeat, numFeat, 3, stride: 2, padding: 1, outputPadding: 1));
                layers.Add(nn.ReLU());
            }
        }
        else
        {
            throw new ArgumentException($"SRDenseNet upsamples by 2^n or 3; got {scale}.", nameof(scale));
        }

        return nn.Sequential(layers);
    }

    /// <summary>models.py's <c>_initialize_weights</c>: kaiming_normal_(ReLU) on every (transposed) conv weight, zero biases.</summary>
    private void InitialiseAsReference()
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (parameter.dim() == 4)
                nn.init.kaiming_normal_(parameter, nonlinearity: nn.init.NonlinearityType.ReLU);
            else if (name.EndsWith("bias", StringComparison.Ordinal))
                parameter.zero_();
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor x;
        if (DenseBlock.CanAppendInPlace(input))
        {
            // Inference on one image: every block appends to one buffer of all levels instead of concatenating (same values).
            var first = conv.forward(input);
            x = DenseBlock.NewFeatureBuffer(first, _featureChannels);
            long width = first.shape[1];
            x.narrow(1, 0, width).copy_(first);
            foreach (var block in _blocks)
                width = block.AppendInPlace(x, width);
        }
        else
        {
            x = dense_blocks.forward(conv.forward(input));
        }

        x = deconv.forward(bottleneck.forward(x));
        return reconstruction.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// models.py's <c>DenseBlock</c>: a conv+ReLU from the block input to g channels, then L - 1 dense layers over
    /// those (<see cref="DenseBlock"/>, flat keys), key <c>block</c>; the output is [input, the L·g new channels].
    /// </summary>
    private sealed class SkipDenseBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential block;
        private readonly ConvRelu[] _entry; // block's first layer, and its dense layers, for the in-place path (arrays: not registered twice)
        private readonly DenseLayer[] _layers;

        public SkipDenseBlock(int inChannels, int growthRate, int numLayer) : base("DenseBlock")
        {
            _entry = [new ConvRelu(inChannels, growthRate, 3)];
            _layers = DenseBlock.Layers(growthRate, growthRate, numLayer - 1, DenseLayerKeys.Flat).ToArray();
            block = nn.Sequential([_entry[0], .. _layers]);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            return cat([input, block.forward(input)], 1).MoveToOuterDisposeScope();
        }

        /// <summary>
        /// The in-place form of <see cref="forward"/> (<see cref="DenseBlock.CanAppendInPlace"/>): reads the buffer's first
        /// <paramref name="width"/> channels (this block's input) and writes its L·g new channels right after them.
        /// </summary>
        /// <returns>The filled width afterwards.</returns>
        public long AppendInPlace(Tensor features, long width)
        {
            using var scope = NewDisposeScope();
            var grown = _entry[0].forward(features.narrow(1, 0, width));
            long growth = grown.shape[1];
            features.narrow(1, width, growth).copy_(grown);
            return width + DenseBlock.AppendInPlace(_layers, features, width, growth);
        }
    }
}

/// <summary>SRDenseNet hyper-parameters (the SRDenseNet_All variant: every level feeds the bottleneck).</summary>
public sealed record SrDenseNetOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.SrDenseNet;

    /// <summary>Channels of the 1x1 bottleneck and of the deconvolutions. Paper 256.</summary>
    public int NumFeat { get; init; } = 256;

    /// <summary>Dense blocks B. Paper 8; the notes 4.</summary>
    public int NumBlock { get; init; } = 8;

    /// <summary>Layers L per dense block (each block outputs L·g channels, as does the low-level conv). Paper 8; the notes 4.</summary>
    public int NumLayer { get; init; } = 8;

    /// <summary>Growth rate g: channels each dense layer adds. Paper 16.</summary>
    public int GrowthRate { get; init; } = 16;

    /// <summary>The paper's SRDenseNet_All: 8 blocks x 8 layers, growth 16, 256-channel bottleneck and deconvolutions.</summary>
    public static SrDenseNetOptions Paper => new();

    /// <summary>The founding notes' configuration: 4 blocks x 4 layers.</summary>
    public static SrDenseNetOptions Notes => new() { NumBlock = 4, NumLayer = 4 };
}

internal sealed class SrDenseNetDescriptor : SrNetworkDescriptor<SrDenseNetOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.SrDenseNet;
    public override string Citation => "Tong, Li, Liu, Gao: Image Super-Resolution Using Dense Skip Connections, ICCV 2017";
    public override string Reference => "yjn870/SRDenseNet-pytorch models.py (no licence file)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override SrDenseNetOptions Paper => SrDenseNetOptions.Paper;
    protected override SrDenseNetOptions Notes => SrDenseNetOptions.Notes;
    protected override SrNetwork Create(SrDenseNetOptions options, int scale, int channels) => new SrDenseNet(options, scale, channels);
}
