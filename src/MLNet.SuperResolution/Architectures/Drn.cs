using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// DRN: Guo et al., "Closed-loop Matters: Dual Regression Networks for Single Image Super-Resolution", CVPR 2020.
/// The primal network is a U-Net on the bicubic-upscaled image: a head convolution, log2(scale) down blocks (stride-2
/// convolutions, LeakyReLU), then as many up blocks (RCABs, a x2 sub-pixel upsampler and a 1x1 convolution), each
/// concatenated with the down path's features of its size; a tail convolution gives an image at every size (LR, x2,
/// ..., xScale). The dual models (one per x2 step) map each output back down by 2; their error against the smaller
/// image closes the loop. Keys follow guoyongcs/DRN model/drn.py and model/common.py (MIT): <c>sub_mean</c>,
/// <c>head</c>, <c>down.{p}.dual_module.{0.0,1}</c>, <c>up_blocks.{i}.{j}.body.*</c> (RCAB),
/// <c>up_blocks.{i}.{B}.0</c> (upsampler conv), <c>up_blocks.{i}.{B+1}</c> (1x1 conv), <c>tail.{k}</c>,
/// <c>add_mean</c>; the dual models, which the reference keeps outside the primal model and saves in a separate file,
/// are submodules here: <c>dual_models.{i}.dual_module.{0.0,1}</c>.
/// </summary>
/// <remarks>
/// <c>forward</c> returns the final SR image; <see cref="TrainingLoss"/> is the reference trainer's loss: the criterion
/// at every output size (the LR-size output against the LR input, the intermediate ones against the HR image
/// bicubic-downscaled, the last against HR) plus <see cref="DrnOptions.DualWeight"/> times the dual models' errors.
/// The reference's MeanShift layers are meant to be fixed but are trainable there (it sets <c>requires_grad</c> on
/// the module, not its parameters: 24 parameters the reference counts); ours are fixed.
/// </remarks>
internal sealed class Drn : PyramidNetwork
{
    private readonly MeanShift sub_mean;
    private readonly nn.Module<Tensor, Tensor> head;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> down;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> up_blocks;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> tail;
    private readonly MeanShift add_mean;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> dual_models;

    private readonly double _rgbRange;
    private readonly double _dualWeight;

    /// <summary>Builds DRN for <paramref name="scale"/> (4 or 8) and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Drn(DrnOptions options, int scale, int channels) : base(nameof(Drn), scale, channels)
    {
        int phases = Steps;
        int n = options.Features(scale);
        int blocks = options.Blocks(scale);
        if (n < 4 || blocks < 0)
            throw new ArgumentOutOfRangeException(nameof(options),
                "DRN needs NumFeat >= 4 (its narrowest RCABs, 4 x NumFeat wide, reduce by 16 in channel attention) and NumBlock >= 0.");
        _rgbRange = options.RgbRange;
        _dualWeight = options.DualWeight;
        double slope = options.NegativeSlope;

        sub_mean = new MeanShift(channels, options.RgbRange, -1);
        head = Layers.Conv(channels, n, 3);
        down = nn.ModuleList(Enumerable.Range(0, phases)
            .Select(p => (nn.Module<Tensor, Tensor>)new DownBlock(n << p, n << p, n << (p + 1), slope)).ToArray());

        // Up block i works on the concatenated features of size 2^(phases - i) x LR: n * 2^phases channels for the
        // first two blocks (the first has nothing to concatenate yet), halving from there; each ends at half its width
        // after upsampling, so that the concatenation restores it.
        var upBlocks = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < phases; i++)
        {
            int width = n << Math.Min(phases, phases + 1 - i);
            var layers = Enumerable.Range(0, blocks)
                .Select(_ => (nn.Module<Tensor, Tensor>)new ResidualChannelAttentionBlock(width))
                .Append(Upsampler.Create(2, width))
                .Append(Layers.Conv(width, n << (phases - i - 1), 1));
            upBlocks.Add(nn.Sequential(layers.ToArray()));
        }

        up_blocks = nn.ModuleList(upBlocks.ToArray());
        tail = nn.ModuleList(Enumerable.Range(0, phases + 1)
            .Select(k => Layers.Conv(n << (k == 0 ? phases : phases + 1 - k), channels, 3)).ToArray());
        add_mean = new MeanShift(channels, options.RgbRange, 1);
        dual_models = nn.ModuleList(Enumerable.Range(0, phases)
            .Select(_ => (nn.Module<Tensor, Tensor>)new DownBlock(channels, n, channels, slope)).ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// The primal loss at every output size plus <see cref="DrnOptions.DualWeight"/> times the dual loss, as the
    /// reference trainer computes them (targets: the LR input, the HR image MATLAB-bicubic-downscaled, the HR image).
    /// </summary>
    public override Tensor TrainingLoss(Tensor lowRes, Tensor highRes, Func<Tensor, Tensor, Tensor> criterion)
    {
        using var scope = NewDisposeScope();
        var outputs = Outputs(lowRes);
        int last = outputs.Count - 1;
        var targets = Enumerable.Range(0, outputs.Count)
            .Select(k => k == 0 ? lowRes : Target(highRes, last - k))
            .ToArray();
        var primal = criterion(outputs[0], targets[0]);
        for (int k = 1; k <= last; k++)
            primal = primal.Plus(criterion(outputs[k], targets[k]));
        Tensor? dual = null;
        for (int i = 0; i < last; i++)
        {
            var term = criterion(dual_models[i].forward(outputs[i + 1]), targets[i]);
            dual = dual is null ? term : dual.Plus(term);
        }

        using var dualWeight = _dualWeight.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        return primal.Plus(dual!.mul(dualWeight)).MoveToOuterDisposeScope();
    }

    /// <summary>The images at every size, LR first, xScale last (tensors in the caller's dispose scope).</summary>
    protected override List<Tensor> Outputs(Tensor input)
    {
        // PyTorch's bicubic (a = -0.75), as the reference's nn.Upsample: imported weights were trained on it.
        using var rgbRange = _rgbRange.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        var x = nn.functional.interpolate(input.mul(rgbRange), scale_factor: [Scale, Scale], mode: InterpolationMode.Bicubic, align_corners: false);
        x = head.forward(sub_mean.forward(x));
        var copies = new List<Tensor>();
        foreach (var step in down)
        {
            copies.Add(x);
            x = step.forward(x);
        }

        var outputs = new List<Tensor> { Image(0, x) };
        for (int i = 0; i < up_blocks.Count; i++)
        {
            x = cat([up_blocks[i].forward(x), copies[^(i + 1)]], 1);
            outputs.Add(Image(i + 1, x));
        }

        return outputs;
    }

    /// <summary>Tail <paramref name="k"/>'s image from <paramref name="features"/>, back in [0, 1].</summary>
    private Tensor Image(int k, Tensor features)
    {
        using var rgbRange = _rgbRange.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        return add_mean.forward(tail[k].forward(features)).div(rgbRange);
    }

    /// <summary>
    /// The reference's <c>common.DownBlock</c> for a factor of 2: <c>dual_module</c> = [conv 3x3 stride 2 in -> f,
    /// LeakyReLU], conv 3x3 f -> out, both without bias. Keys <c>dual_module.0.0</c>, <c>dual_module.1</c>.
    /// </summary>
    private sealed class DownBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential dual_module;

        /// <summary>Builds the block: <paramref name="inChannels"/> -> <paramref name="numFeat"/> (halving the size) -> <paramref name="outChannels"/>.</summary>
        public DownBlock(int inChannels, int numFeat, int outChannels, double negativeSlope) : base(nameof(DownBlock))
        {
            dual_module = nn.Sequential(
                nn.Sequential(Layers.Conv(inChannels, numFeat, 3, bias: false, stride: 2), new LeakyRelu(negativeSlope)),
                Layers.Conv(numFeat, outChannels, 3, bias: false));
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input) => dual_module.forward(input);
    }
}

/// <summary>DRN hyper-parameters. The reference picks features and blocks per scale (its DRN-S and DRN-L templates).</summary>
public sealed record DrnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Drn;

    /// <summary>Whether the defaults are DRN-L's (x4: 20 features, 40 blocks; x8: 10, 36) rather than DRN-S's (x4: 16, 30; x8: 8, 30).</summary>
    public bool Large { get; init; }

    /// <summary>Base features (the reference's n_feats; the network's widths are multiples of it). At least 4. Null: the template's for the scale.</summary>
    public int? NumFeat { get; init; }

    /// <summary>RCABs per up block (the reference's n_blocks). Null: the template's for the scale; the notes 15.</summary>
    public int? NumBlock { get; init; }

    /// <summary>The weight of the dual regression loss (the reference's dual_weight, the paper's lambda). Paper 0.1.</summary>
    public double DualWeight { get; init; } = 0.1;

    /// <summary>The negative slope of the down blocks' LeakyReLU (the reference's negval). Paper 0.2.</summary>
    public double NegativeSlope { get; init; } = 0.2;

    /// <summary>
    /// The pixel range the network computes in (the reference's rgb_range): inputs are multiplied by it and outputs
    /// divided, so that the reference's weights (trained on 0..255) load. Reference 255.
    /// </summary>
    public double RgbRange { get; init; } = 255;

    /// <summary>The base features at <paramref name="scale"/>: <see cref="NumFeat"/> or the template's.</summary>
    internal int Features(int scale) => NumFeat ?? (Large ? (scale == 8 ? 10 : 20) : (scale == 8 ? 8 : 16));

    /// <summary>The RCABs per up block at <paramref name="scale"/>: <see cref="NumBlock"/> or the template's.</summary>
    internal int Blocks(int scale) => NumBlock ?? (Large ? (scale == 8 ? 36 : 40) : 30);

    /// <summary>DRN-S, the paper's small model (4,805,769 trainable parameters at x4 with the dual models, RGB).</summary>
    public static DrnOptions Paper => new();

    /// <summary>DRN-L, the paper's large model (9,828,029 trainable parameters at x4 with the dual models, RGB).</summary>
    public static DrnOptions PaperLarge => new() { Large = true };

    /// <summary>The founding notes' smaller network: DRN-S with half the blocks (15 per up block).</summary>
    public static DrnOptions Notes => new() { NumBlock = 15 };
}

internal sealed class DrnDescriptor : SrNetworkDescriptor<DrnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Drn;
    public override string Citation => "Guo et al.: Closed-loop Matters: Dual Regression Networks for Single Image Super-Resolution, CVPR 2020";
    public override string Reference => "guoyongcs/DRN model/drn.py, model/common.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [4, 8];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override DrnOptions Paper => DrnOptions.Paper;
    protected override DrnOptions Notes => DrnOptions.Notes;
    protected override SrNetwork Create(DrnOptions options, int scale, int channels) => new Drn(options, scale, channels);
}
