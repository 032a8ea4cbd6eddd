using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// SPAN: Wan, Yu, Li, Chen, Zou, Liu, Yin, Zuo, "Swift Parameter-free Attention Network for Efficient
/// Super-Resolution", CVPRW 2024 (winner of the NTIRE 2024 efficient SR challenge). The input is normalised as
/// <c>(x - mean) * img_range</c> (DIV2K's mean colour, 255) and the output is not de-normalised: the network learns
/// to give [0, 1] itself. A reparameterisable 3x3 convolution (<see cref="Conv3XC"/>) makes the F features, six
/// <see cref="SpanBlock"/>s (three Conv3XC with SiLU, then the parameter-free attention
/// <c>(c3 + x) * (sigmoid(c3) - 0.5)</c>) refine them, a Conv3XC follows the last block, and a 1x1 convolution fuses
/// four taps (the first features, the refined last block, block 1's output, block 6's first convolution) before a
/// sub-pixel upsampler. Keys follow hongyuanyu/SPAN basicsr/archs/span_arch.py (Apache-2.0): <c>conv_1.*</c>,
/// <c>block_{1..6}.c{1,2,3}_r.*</c>, <c>conv_cat.*</c>, <c>conv_2.*</c>, <c>upsampler.0.*</c>, where each Conv3XC has
/// <c>sk.*</c>, <c>conv.{0,1,2}.*</c> and <c>eval_conv.*</c>. 1,840,488 trainable parameters at x4 (F = 48, RGB);
/// the 426,288 of the paper are the reparameterised network's (<c>eval_conv</c> instead of <c>sk</c> and <c>conv</c>).
/// </summary>
internal sealed class Span : SrNetwork
{
    private readonly Conv3XC conv_1;
    private readonly SpanBlock block_1;
    private readonly SpanBlock block_2;
    private readonly SpanBlock block_3;
    private readonly SpanBlock block_4;
    private readonly SpanBlock block_5;
    private readonly SpanBlock block_6;
    private readonly nn.Module<Tensor, Tensor> conv_cat;
    private readonly Conv3XC conv_2;
    private readonly Sequential upsampler;
    private readonly float[] _mean;
    private readonly double _imgRange;
    private readonly bool _normalize;

    /// <summary>Builds SPAN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Span(SpanOptions options, int scale, int channels) : base(nameof(Span), scale, channels)
    {
        if (options.FeatureChannels < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.FeatureChannels, "SPAN needs at least one feature channel.");
        if (!(options.ImgRange > 0))
            throw new ArgumentOutOfRangeException(nameof(options), options.ImgRange, "The image range must be positive.");
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be at least 1.");
        int f = options.FeatureChannels;
        _imgRange = options.ImgRange;
        _normalize = options.Normalize;
        // The reference's mean is RGB only (a 1-channel input would not broadcast); one channel uses its Y, as MeanShift does.
        _mean = channels == 3
            ? MeanShift.Div2kMean.Select(m => (float)m).ToArray()
            : [(float)((16 + 65.481 * MeanShift.Div2kMean[0] + 128.553 * MeanShift.Div2kMean[1] + 24.966 * MeanShift.Div2kMean[2]) / 255)];
        conv_1 = new Conv3XC(channels, f);
        block_1 = new SpanBlock(f);
        block_2 = new SpanBlock(f);
        block_3 = new SpanBlock(f);
        block_4 = new SpanBlock(f);
        block_5 = new SpanBlock(f);
        block_6 = new SpanBlock(f);
        conv_cat = Layers.Conv(4L * f, f, 1);
        conv_2 = new Conv3XC(f, f);
        upsampler = nn.Sequential(Layers.Conv(f, (long)channels * scale * scale, 3), nn.PixelShuffle(scale));
        RegisterComponents();
        if (!_normalize)
            register_buffer("no_norm", zeros(1)); // traiNNer-redux's marker of a SPAN without input normalisation
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        if (_normalize)
        {
            using var imgRange = _imgRange.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            // The reference's mean is a float32 tensor cast to the input's type (type_as).
            var mean = tensor(_mean, [1, _mean.Length, 1, 1]).to(input.dtype, input.device);
            x = input.sub(mean).mul(imgRange);
        }

        var features = conv_1.forward(x);
        var (b1, _) = block_1.forward(features);
        var (b2, _) = block_2.forward(b1);
        var (b3, _) = block_3.forward(b2);
        var (b4, _) = block_4.forward(b3);
        var (b5, _) = block_5.forward(b4);
        var (b6, b6First) = block_6.forward(b5);
        b6 = conv_2.forward(b6);
        var fused = conv_cat.forward(cat([features, b6, b1, b6First], 1));
        return upsampler.forward(fused).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SPAN's <c>Conv3XC</c> (hongyuanyu/SPAN basicsr/archs/span_arch.py): a 3x3 convolution C_in -> C_out trained as two
/// branches, <c>conv</c> (1x1 C_in -> 2 C_in, 3x3 without padding 2 C_in -> 2 C_out, 1x1 2 C_out -> C_out, on the
/// input zero-padded by one pixel) plus the skip <c>sk</c> (1x1 C_in -> C_out), and run in eval mode as the single 3x3
/// convolution (zero padding 1) those branches compose to. The reference recomputes that kernel from the branches on
/// every eval-mode forward and writes it into <c>eval_conv</c>, so the <c>eval_conv</c> values stored in a weight file
/// never matter; here the eval-mode forward computes it too (differentiably, so gradients reach the branches), and
/// <c>eval_conv</c>'s parameters (not trainable, as in the reference) are kept for the keys and refreshed when the
/// module is put in eval mode. The two modes agree at the border too: the composed bias counts the first 1x1
/// convolution's bias at every tap, as the training branch sees it on its zero-padded ring.
/// Keys: <c>sk.*</c>, <c>conv.{0,1,2}.*</c>, <c>eval_conv.*</c>.
/// </summary>
internal sealed class Conv3XC : nn.Module<Tensor, Tensor>
{
    /// <summary>SPAN's gain1: the width of the training branch's middle, in multiples of the input and output channels.</summary>
    private const int Gain = 2;

    private readonly nn.Module<Tensor, Tensor> sk;
    private readonly Sequential conv;
    private readonly Conv2d eval_conv;

    public Conv3XC(long inChannels, long outChannels) : base(nameof(Conv3XC))
    {
        sk = ChannelPaddedConv2d.Create(inChannels, outChannels, 1);
        conv = nn.Sequential(
            ChannelPaddedConv2d.Create(inChannels, inChannels * Gain, 1),
            ChannelPaddedConv2d.Create(inChannels * Gain, outChannels * Gain, 3),
            ChannelPaddedConv2d.Create(outChannels * Gain, outChannels, 1));
        ConstructionBudget.Take(ConstructionBudget.ConvolutionElements(inChannels, outChannels, 9, hasBias: true));
        eval_conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        foreach (var parameter in eval_conv.parameters())
            parameter.requires_grad = false;
        RegisterComponents();
        RefreshEvalConv();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        if (training)
        {
            var padded = nn.functional.pad(input, [1, 1, 1, 1]);
            return conv.forward(padded).Plus(sk.forward(input)).MoveToOuterDisposeScope();
        }

        var (weight, bias) = Reparameterised();
        return ChannelPaddedConv2d.Convolve(input, weight, bias, padding: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Sets the mode, as <c>nn.Module.train</c>; entering eval mode writes the composed kernel into <c>eval_conv</c>.</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        if (!on)
            RefreshEvalConv();
    }

    /// <summary>
    /// The 3x3 kernel [C_out, C_in, 3, 3] and bias that the two branches compose to (the reference's
    /// <c>update_params</c>): with the 1x1 kernels as matrices W1 [2C_in, C_in], W3 [C_out, 2C_out],
    /// W = W3 (W2 W1) per tap + the centre tap W_sk, b = W3 (sum over taps of W2 · b1 + b2) + b3 + b_sk.
    /// </summary>
    private (Tensor Weight, Tensor Bias) Reparameterised()
    {
        using var scope = NewDisposeScope();
        Tensor Get(string name) => get_parameter(name)!; // by name each time: to(dtype) replaces the parameter objects
        Tensor w1 = Get("conv.0.weight"), b1 = Get("conv.0.bias");
        Tensor w2 = Get("conv.1.weight"), b2 = Get("conv.1.bias");
        Tensor w3 = Get("conv.2.weight"), b3 = Get("conv.2.bias");
        long middleIn = w1.shape[0], inChannels = w1.shape[1], middleOut = w2.shape[0], outChannels = w3.shape[0];

        var inner = w2.permute(0, 2, 3, 1).matmul(w1.reshape(middleIn, inChannels)).permute(0, 3, 1, 2); // [2C_out, C_in, 3, 3]
        var innerBias = w2.sum([2L, 3L]).matmul(b1).Plus(b2);
        var reduce = w3.reshape(outChannels, middleOut);
        var weight = reduce.matmul(inner.reshape(middleOut, -1)).reshape(outChannels, inChannels, 3, 3)
            .Plus(nn.functional.pad(Get("sk.weight"), [1, 1, 1, 1]));
        var bias = reduce.matmul(innerBias).Plus(b3).Plus(Get("sk.bias"));
        return (weight.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }

    private void RefreshEvalConv()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (weight, bias) = Reparameterised();
        eval_conv.weight!.copy_(weight);
        eval_conv.bias!.copy_(bias);
    }
}

/// <summary>
/// SPAN's block (<c>SPAB</c>, hongyuanyu/SPAN basicsr/archs/span_arch.py): three <see cref="Conv3XC"/> F -> F with SiLU
/// after the first two, then the parameter-free attention <c>(c3 + x) * (sigmoid(c3) - 0.5)</c>. Returns that and the
/// first convolution's output (before its SiLU), which SPAN taps from the last block. Keys: <c>c1_r.*</c>,
/// <c>c2_r.*</c>, <c>c3_r.*</c> (the reference's unused LeakyReLU has none).
/// </summary>
internal sealed class SpanBlock : nn.Module<Tensor, (Tensor Output, Tensor First)>
{
    private readonly Conv3XC c1_r;
    private readonly Conv3XC c2_r;
    private readonly Conv3XC c3_r;

    public SpanBlock(long channels) : base(nameof(SpanBlock))
    {
        c1_r = new Conv3XC(channels, channels);
        c2_r = new Conv3XC(channels, channels);
        c3_r = new Conv3XC(channels, channels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override (Tensor Output, Tensor First) forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // The reference's SiLU is in place, so the first output it returns is the activated one.
        var first = c1_r.forward(input).silu();
        var second = c2_r.forward(first).silu();
        var third = c3_r.forward(second);
        var attention = third.sigmoid().sub(ScalarSafe.Constant(0.5));
        var output = third.Plus(input).mul(attention);
        return (output.MoveToOuterDisposeScope(), first.MoveToOuterDisposeScope());
    }
}

/// <summary>SPAN hyper-parameters: the feature width and the input scaling.</summary>
public sealed record SpanOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Span;

    /// <summary>
    /// Feature channels F (the reference's <c>feature_channels</c>). Paper 48 (the NTIRE 2024 model); the authors also
    /// released F = 52 weights.
    /// </summary>
    public int FeatureChannels { get; init; } = 48;

    /// <summary>
    /// The reference's <c>img_range</c>: inputs in [0, 1] minus DIV2K's mean colour are multiplied by it; outputs are
    /// not divided by it. Paper 255.
    /// </summary>
    public double ImgRange { get; init; } = 255;

    /// <summary>
    /// Whether the input is normalised (mean subtracted, times <see cref="ImgRange"/>), as the official code always does.
    /// traiNNer-redux's SPAN can leave it out (<c>norm=False</c>, its default), marking such files with a
    /// <c>no_norm</c> buffer, which this network then has too. Default true.
    /// </summary>
    public bool Normalize { get; init; } = true;

    /// <summary>The NTIRE 2024 SPAN: 48 feature channels (1,840,488 trainable parameters at x4; 426,288 reparameterised).</summary>
    public static SpanOptions Paper => new();

    /// <summary>A small SPAN for CPU training: 16 feature channels (211,624 trainable parameters at x4).</summary>
    public static SpanOptions Notes => new() { FeatureChannels = 16 };
}

internal sealed class SpanDescriptor : SrNetworkDescriptor<SpanOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Span;
    public override string Citation => "Wan, Yu, Li, Chen, Zou, Liu, Yin, Zuo: Swift Parameter-free Attention Network for Efficient Super-Resolution, CVPRW 2024";
    public override string Reference => "hongyuanyu/SPAN basicsr/archs/span_arch.py (Apache-2.0)";
    public override IReadOnlyList<int> Scales { get; } = [1, 2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override SpanOptions Paper => SpanOptions.Paper;
    protected override SpanOptions Notes => SpanOptions.Notes;
    protected override SrNetwork Create(SpanOptions options, int scale, int channels) => new Span(options, scale, channels);

    public override IReadOnlyList<string> MarkerKeys { get; } =
        ["conv_1.sk.weight", "block_1.c1_r.sk.weight", "block_1.c1_r.eval_conv.weight", "conv_cat.weight", "conv_2.sk.weight", "upsampler.0.weight"];

    /// <summary>
    /// The Conv3XC keys of the head, the first block and the tail, and the upsampler (spandrel's SPAN rule): feature
    /// channels and image channels from <c>conv_1.sk</c>, scale from the upsampler's outputs / channels, a
    /// <c>no_norm</c> buffer for traiNNer-redux's unnormalised form. The input scaling (255, DIV2K's mean) is not in
    /// files; the official values are used.
    /// </summary>
    public override Detection? Detect(StateDictShapes stateDict)
    {
        if (!stateDict.HasAll("conv_1.sk.weight", "block_1.c1_r.sk.weight", "block_1.c1_r.eval_conv.weight", "conv_cat.weight", "conv_2.sk.weight", "upsampler.0.weight"))
            return null;
        int channels = stateDict.Dim("conv_1.sk.weight", 1), features = stateDict.Dim("conv_1.sk.weight", 0);
        int outputs = stateDict.Dim("upsampler.0.weight", 0);
        int scale = (int)Math.Round(Math.Sqrt(outputs / (double)channels));
        if (channels is not (1 or 3) || scale < 1 || channels * scale * scale != outputs)
            throw new InvalidDataException($"its SPAN takes {channels} channels and its upsampler gives {outputs}: not channels x scale² for 1 or 3 channels");
        bool normalize = !stateDict.Has("no_norm");
        var notes = new List<string> { "the input scaling (255, DIV2K's mean) is not stored in files: the official values are used" };
        return new Detection(new SpanOptions { FeatureChannels = features, Normalize = normalize }, scale, channels,
            normalize ? "official layout" : "traiNNer-redux layout, without input normalisation", Notes: notes);
    }
}
