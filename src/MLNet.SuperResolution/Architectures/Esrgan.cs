using System.Globalization;
using System.Text.RegularExpressions;
using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// ESRGAN's RRDBNet: Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCVW 2018,
/// as Real-ESRGAN (Wang et al., ICCVW 2021) extends it to x2 and x1 with a pixel-unshuffled input. A head convolution,
/// a trunk of residual-in-residual dense blocks (three 5-convolution dense blocks, each scaled by 0.2 and skipped over,
/// and the three skipped over again) closed by a convolution and a global skip, then nearest-neighbour x2 upsampling
/// with a convolution per stage, a high-resolution convolution and the output convolution; LeakyReLU 0.2 throughout.
/// Keys follow XPixelGroup/BasicSR basicsr/archs/rrdbnet_arch.py (Apache-2.0): <c>conv_first</c>,
/// <c>body.{i}.rdb{1,2,3}.conv{1..5}</c>, <c>conv_body</c>, <c>conv_up{1..n}</c>, <c>conv_hr</c>, <c>conv_last</c>;
/// where BasicSR has no key, the natural extension: <c>conv_up3</c> for x8, and <c>body.{i}.rdb{k}.conv1x1</c> for
/// ESRGAN+ (Rakotonirina and Rasoanaivo, ICASSP 2020: x2 += conv1x1(x), x4 += x2 in each dense block). Files in the
/// original ESRGAN layout (<c>model.0</c>, <c>model.1.sub.{i}.RDB{k}.conv{j}.0</c>, ..., xinntao/ESRGAN's
/// transer_RRDB_models.py maps it) and in the ESRGAN repository's and BSRGAN's (<c>RRDB_trunk</c>, <c>trunk_conv</c>,
/// <c>upconv{n}</c>, <c>HRconv</c>) load through <see cref="EsrganDescriptor.Detect"/>'s key map. Inputs whose size
/// is not a multiple of the pixel-unshuffle factor are reflect-padded and the output cropped. RealESRGAN_x4plus's
/// configuration (64 features, 23 blocks, growth 32) has 16,697,987 parameters.
/// </summary>
internal sealed class Esrgan : SrNetwork
{
    /// <summary>LeakyReLU's negative slope in every layer of RRDBNet.</summary>
    internal const double Slope = 0.2;

    private readonly nn.Module<Tensor, Tensor> conv_first;
    private readonly Sequential body;
    private readonly nn.Module<Tensor, Tensor> conv_body;
    private readonly List<nn.Module<Tensor, Tensor>> _upsampling = [];
    private readonly nn.Module<Tensor, Tensor> conv_hr;
    private readonly nn.Module<Tensor, Tensor> conv_last;
    private readonly int _unshuffle;
    private readonly int _blocks;

    /// <summary>Builds RRDBNet for <paramref name="scale"/> and <paramref name="channels"/> (3 = RGB; 1 = grayscale).</summary>
    public Esrgan(EsrganOptions options, int scale, int channels) : base(nameof(Esrgan), scale, channels)
    {
        _unshuffle = options.Unshuffle(scale);
        _blocks = options.NumBlock;
        int stages = EsrganOptions.UpsamplingStages(scale, _unshuffle);
        conv_first = Layers.Conv(channels * _unshuffle * _unshuffle, options.NumFeat, 3);
        body = nn.Sequential(Enumerable.Range(0, options.NumBlock)
            .Select(_ => (nn.Module<Tensor, Tensor>)new Rrdb(options.NumFeat, options.NumGrowCh, options.Plus)).ToArray());
        conv_body = Layers.Conv(options.NumFeat, options.NumFeat, 3);
        for (int stage = 1; stage <= stages; stage++)
        {
            var conv = Layers.Conv(options.NumFeat, options.NumFeat, 3);
            _upsampling.Add(conv);
            register_module($"conv_up{stage}", conv);
        }

        conv_hr = Layers.Conv(options.NumFeat, options.NumFeat, 3);
        conv_last = Layers.Conv(options.NumFeat, channels, 3);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        long height = input.shape[2], width = input.shape[3];
        var x = _unshuffle == 1 ? input : nn.functional.pixel_unshuffle(PadToMultiple(input, _unshuffle), _unshuffle);
        var feat = conv_first.forward(x);
        var trunk = ResidualBlock.AddScaled(conv_body.forward(body.forward(feat)), feat, 1.0);
        foreach (var conv in _upsampling)
        {
            var up = nn.functional.interpolate(trunk, scale_factor: [2, 2], mode: InterpolationMode.Nearest);
            trunk = conv.forward(up).LeakyRelu(Slope);
        }

        var result = conv_last.forward(conv_hr.forward(trunk).LeakyRelu(Slope));
        if (result.shape[2] != height * Scale || result.shape[3] != width * Scale)
            result = result.slice(2, 0, height * Scale, 1).slice(3, 0, width * Scale, 1).contiguous();
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 15 convolutions per block (3 dense blocks of 5) plus the head and trunk convolutions on the unshuffled grid, one
    /// per upsampling stage and two on the output grid (each less than one unshuffled pixel), times the unshuffle factor.
    /// </summary>
    internal override int? ReceptiveRadiusBound => (15 * _blocks + 4) * _unshuffle;

    /// <summary>Reflect-pads the bottom and right of an image to a multiple of <paramref name="multiple"/> (replicate where the image is too small to reflect).</summary>
    internal static Tensor PadToMultiple(Tensor x, int multiple)
    {
        long height = x.shape[2], width = x.shape[3];
        long padBottom = (multiple - height % multiple) % multiple, padRight = (multiple - width % multiple) % multiple;
        if (padBottom == 0 && padRight == 0)
            return x;
        var mode = padBottom < height && padRight < width ? PaddingModes.Reflect : PaddingModes.Replicate;
        return nn.functional.pad(x, [0, padRight, 0, padBottom], mode);
    }

    /// <summary>
    /// The residual-in-residual dense block: three <see cref="ResidualDenseBlock"/>s, their output scaled by 0.2 and
    /// added to the input. Keys <c>rdb1</c>, <c>rdb2</c>, <c>rdb3</c>.
    /// </summary>
    private sealed class Rrdb : nn.Module<Tensor, Tensor>
    {
        private readonly ResidualDenseBlock rdb1, rdb2, rdb3;

        public Rrdb(int numFeat, int numGrowCh, bool plus) : base(nameof(Rrdb))
        {
            rdb1 = new ResidualDenseBlock(numFeat, numGrowCh, plus);
            rdb2 = new ResidualDenseBlock(numFeat, numGrowCh, plus);
            rdb3 = new ResidualDenseBlock(numFeat, numGrowCh, plus);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x = rdb3.forward(rdb2.forward(rdb1.forward(input)));
            return ResidualBlock.AddScaled(x, input, 0.2).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// The 5-convolution residual dense block:
    /// <code>
    ///   x ─┬─ conv1 ─ lrelu ─ x1 ─┬─ conv2(x,x1) ─ lrelu ─ x2 [+ conv1x1(x)] ─┬─ conv3(x,x1,x2) ─ lrelu ─ x3 ─┐
    ///      │                                                                    │                              │
    ///      └─ ... conv4(x,x1,x2,x3) ─ lrelu ─ x4 [+ x2] ─ conv5(x,x1,x2,x3,x4) ─ × 0.2 ─(+ x)─> out
    /// </code>
    /// (the bracketed terms are ESRGAN+'s). Keys <c>conv1</c> .. <c>conv5</c>, <c>conv1x1</c> (no bias).
    /// </summary>
    private sealed class ResidualDenseBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv2, conv3, conv4, conv5;
        private readonly nn.Module<Tensor, Tensor>? conv1x1;

        public ResidualDenseBlock(int numFeat, int numGrowCh, bool plus) : base(nameof(ResidualDenseBlock))
        {
            conv1 = Layers.Conv(numFeat, numGrowCh, 3);
            conv2 = Layers.Conv(numFeat + numGrowCh, numGrowCh, 3);
            conv3 = Layers.Conv(numFeat + 2 * numGrowCh, numGrowCh, 3);
            conv4 = Layers.Conv(numFeat + 3 * numGrowCh, numGrowCh, 3);
            conv5 = Layers.Conv(numFeat + 4 * numGrowCh, numFeat, 3);
            conv1x1 = plus ? Layers.Conv(numFeat, numGrowCh, 1, bias: false) : null;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x1 = conv1.forward(input).LeakyRelu(Slope);
            var x2 = conv2.forward(cat([input, x1], 1)).LeakyRelu(Slope);
            if (conv1x1 is not null)
                x2 = x2.Plus(conv1x1.forward(input));
            var x3 = conv3.forward(cat([input, x1, x2], 1)).LeakyRelu(Slope);
            var x4 = conv4.forward(cat([input, x1, x2, x3], 1)).LeakyRelu(Slope);
            if (conv1x1 is not null)
                x4 = x4.Plus(x2);
            var x5 = conv5.forward(cat([input, x1, x2, x3, x4], 1));
            return ResidualBlock.AddScaled(x5, input, 0.2).MoveToOuterDisposeScope();
        }
    }
}

/// <summary>RRDBNet hyper-parameters, named as BasicSR names them: 64 features, 23 blocks, growth 32 in RealESRGAN_x4plus.</summary>
public sealed record EsrganOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Esrgan;

    /// <summary>Features of the trunk (BasicSR <c>num_feat</c>). Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Residual-in-residual dense blocks in the trunk (<c>num_block</c>). Paper 23.</summary>
    public int NumBlock { get; init; } = 23;

    /// <summary>Channels each dense-block convolution adds (<c>num_grow_ch</c>). Paper 32.</summary>
    public int NumGrowCh { get; init; } = 32;

    /// <summary>
    /// The pixel-unshuffle factor of the input (1, 2 or 4), or 0 (default) for BasicSR's rule: 2 at x2, 4 at x1, 1
    /// otherwise (Real-ESRGAN's x2 and x1 models). The network upsamples by scale x factor in x2 stages, so the
    /// original ESRGAN layout's x2 (one stage, no unshuffle) is factor 1 at scale 2.
    /// </summary>
    public int PixelUnshuffle { get; init; }

    /// <summary>ESRGAN+'s extra residual paths (a 1x1 convolution per dense block). Default false.</summary>
    public bool Plus { get; init; }

    /// <summary>The pixel-unshuffle factor used at <paramref name="scale"/>.</summary>
    internal int Unshuffle(int scale) => PixelUnshuffle != 0 ? PixelUnshuffle : scale switch { 2 => 2, 1 => 4, _ => 1 };

    /// <summary>How many x2 upsampling stages scale x unshuffle needs; throws when it is not a power of two up to 8.</summary>
    internal static int UpsamplingStages(int scale, int unshuffle)
    {
        int total = scale * unshuffle;
        return total switch
        {
            1 => 0,
            2 => 1,
            4 => 2,
            8 => 3,
            _ => throw new ArgumentException(
                $"RRDBNet upsamples in x2 stages: scale {scale} with pixel-unshuffle {unshuffle} needs x{total}, not a power of two up to 8."),
        };
    }

    /// <summary>RealESRGAN_x4plus's configuration: 23 blocks of 64 features, growth 32 (16.7M parameters at x4).</summary>
    public static EsrganOptions Paper => new();

    /// <summary>A small RRDBNet for CPU training: 3 blocks of 32 features, growth 16.</summary>
    public static EsrganOptions Notes => new() { NumFeat = 32, NumBlock = 3, NumGrowCh = 16 };
}

internal sealed partial class EsrganDescriptor : SrNetworkDescriptor<EsrganOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Esrgan;
    public override string Citation => "Wang, Yu, Wu, Gu, Liu, Dong, Qiao, Loy: ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks, ECCVW 2018 (Real-ESRGAN's x2/x1: Wang, Xie, Dong, Shan, ICCVW 2021)";
    public override string Reference => "XPixelGroup/BasicSR basicsr/archs/rrdbnet_arch.py (Apache-2.0)";
    public override IReadOnlyList<int> Scales { get; } = [1, 2, 4, 8];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override EsrganOptions Paper => EsrganOptions.Paper;
    protected override EsrganOptions Notes => EsrganOptions.Notes;

    protected override SrNetwork Create(EsrganOptions options, int scale, int channels)
    {
        if (options.PixelUnshuffle is not (0 or 1 or 2 or 4))
            throw new ArgumentException($"EsrganOptions.PixelUnshuffle is {options.PixelUnshuffle}; use 0 (BasicSR's rule), 1, 2 or 4.", nameof(options));
        EsrganOptions.UpsamplingStages(scale, options.Unshuffle(scale));
        return new Esrgan(options, scale, channels);
    }

    public override IReadOnlyList<string> MarkerKeys { get; } =
    [
        "conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_up1.weight", "conv_hr.weight", "conv_last.weight",
        "model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight", "RRDB_trunk.0.RDB1.conv1.weight", "trunk_conv.weight", "HRconv.weight",
    ];

    /// <summary>
    /// Reads RRDBNet from any of its three layouts (spandrel's ESRGAN detection rules name them): BasicSR/Real-ESRGAN
    /// keys; the ESRGAN repository's and BSRGAN's (<c>RRDB_trunk</c>, <c>trunk_conv</c>, <c>upconv{n}</c>,
    /// <c>HRconv</c>); and the original layout (<c>model.0</c>, <c>model.1.sub.{i}.RDB{k}.conv{j}.0</c>, upsampling
    /// convolutions at <c>model.3</c>, <c>model.6</c>, ..., then the HR and last convolutions), with ESRGAN+'s
    /// <c>conv1x1</c>. Features from <c>conv_first</c>, blocks from the trunk's indices, growth from <c>conv1</c>,
    /// stages from the upsampling convolutions, the pixel-unshuffle factor from the first convolution's input channels
    /// (4 or 16 times the output's), scale = 2^stages / factor.
    /// </summary>
    public override Detection? Detect(StateDictShapes stateDict)
    {
        string variant;
        Func<string, string>? rename;
        if (stateDict.HasAll("conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_last.weight"))
            (variant, rename) = ("Real-ESRGAN / BasicSR layout", null);
        else if (stateDict.HasAll("conv_first.weight", "RRDB_trunk.0.RDB1.conv1.weight", "trunk_conv.weight", "conv_last.weight"))
            (variant, rename) = ("ESRGAN repository / BSRGAN layout", EsrganRepositoryKey);
        else if (stateDict.HasAll("model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight"))
            (variant, rename) = ("original ESRGAN layout", OriginalLayoutRenamer(stateDict));
        else
            return null;

        var keys = rename is null ? stateDict : stateDict.Renamed(rename);
        int inChannels = keys.Dim("conv_first.weight", 1), numFeat = keys.Dim("conv_first.weight", 0);
        int outChannels = keys.Dim("conv_last.weight", 0);
        int numBlock = keys.SequenceLength("body.");
        int numGrowCh = keys.Dim("body.0.rdb1.conv1.weight", 0);
        int stages = Enumerable.Range(1, 8).TakeWhile(n => keys.Has($"conv_up{n}.weight")).Count();
        bool plus = keys.Has("body.0.rdb1.conv1x1.weight");
        int unshuffle = inChannels == outChannels ? 1 : inChannels == 4 * outChannels ? 2 : inChannels == 16 * outChannels ? 4 : 0;
        if (unshuffle == 0)
            throw new InvalidDataException(
                $"its RRDBNet takes {inChannels} input channels and gives {outChannels}: neither equal nor a pixel-unshuffled input (4 or 16 times)");
        if (outChannels is not (1 or 3))
            throw new InvalidDataException($"its RRDBNet gives {outChannels} output channels; 3 (RGB) and 1 (grayscale) are supported");
        if (stages > 3)
            throw new InvalidDataException($"its RRDBNet has {stages} upsampling stages; up to 3 (x8) are supported");
        int total = 1 << stages;
        if (total % unshuffle != 0)
            throw new InvalidDataException($"its RRDBNet upsamples x{total} after a x{unshuffle} pixel-unshuffle, which shrinks the image");
        int scale = total / unshuffle;
        var options = new EsrganOptions { NumFeat = numFeat, NumBlock = numBlock, NumGrowCh = numGrowCh, PixelUnshuffle = unshuffle, Plus = plus };
        return new Detection(options, scale, outChannels, plus ? variant + ", ESRGAN+" : variant, rename);
    }

    /// <summary>The ESRGAN repository's and BSRGAN's names for BasicSR's.</summary>
    private static string EsrganRepositoryKey(string key)
    {
        if (key.StartsWith("RRDB_trunk.", StringComparison.Ordinal))
            return TrunkKey().Replace(key, m => $"body.{m.Groups[1].Value}.rdb{m.Groups[2].Value}.{m.Groups[3].Value}");
        if (key.StartsWith("trunk_conv.", StringComparison.Ordinal))
            return "conv_body." + key["trunk_conv.".Length..];
        if (key.StartsWith("HRconv.", StringComparison.Ordinal))
            return "conv_hr." + key["HRconv.".Length..];
        if (UpconvKey().Match(key) is { Success: true } up)
            return $"conv_up{up.Groups[1].Value}.{up.Groups[2].Value}";
        return key;
    }

    /// <summary>
    /// The original layout: a Sequential <c>model</c> of the head (0), the shortcut block (1: <c>sub.{i}</c> RRDBs and
    /// <c>sub.{n}</c> the trunk convolution), then per x2 stage an upsample, a convolution and an activation (3 indices),
    /// the HR convolution and its activation, and the last convolution.
    /// </summary>
    private static Func<string, string> OriginalLayoutRenamer(StateDictShapes stateDict)
    {
        int numBlock = stateDict.Indices("model.1.sub.").Count(i => stateDict.Has($"model.1.sub.{i}.RDB1.conv1.0.weight"));
        int last = stateDict.SequenceLength("model.") - 1;
        int stages = (last - 4) / 3;
        return key =>
        {
            var match = OriginalKey().Match(key);
            if (!match.Success)
                return key;
            int index = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            string rest = match.Groups[2].Value;
            if (index == 0)
                return "conv_first." + rest;
            if (index == 1)
            {
                var block = BlockKey().Match(rest);
                if (block.Success && int.Parse(block.Groups[1].Value, CultureInfo.InvariantCulture) == numBlock)
                    return "conv_body." + block.Groups[2].Value;
                var dense = DenseKey().Match(rest);
                return dense.Success ? $"body.{dense.Groups[1].Value}.rdb{dense.Groups[2].Value}.{dense.Groups[3].Value}.{dense.Groups[4].Value}" : key;
            }

            if (index == last)
                return "conv_last." + rest;
            if (index == last - 2)
                return "conv_hr." + rest;
            if (index % 3 == 0 && index / 3 <= stages)
                return $"conv_up{index / 3}.{rest}";
            return key;
        };
    }

    [GeneratedRegex(@"^RRDB_trunk\.(\d+)\.RDB(\d)\.(.+)$")]
    private static partial Regex TrunkKey();

    [GeneratedRegex(@"^upconv(\d)\.(weight|bias)$")]
    private static partial Regex UpconvKey();

    [GeneratedRegex(@"^model\.(\d+)\.(.+)$")]
    private static partial Regex OriginalKey();

    [GeneratedRegex(@"^sub\.(\d+)\.(weight|bias)$")]
    private static partial Regex BlockKey();

    [GeneratedRegex(@"^sub\.(\d+)\.RDB(\d)\.(conv\d|conv1x1)(?:\.0)?\.(weight|bias)$")]
    private static partial Regex DenseKey();
}
