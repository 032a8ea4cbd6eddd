using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// DRCN: Kim, Lee and Lee, "Deeply-Recursive Convolutional Network for Image Super-Resolution", CVPR 2016.
/// On the upscaled image x, an embedding net (two 3x3 convs with ReLU, C -> F -> F) gives H0; one 3x3 conv F -> F
/// with ReLU is applied D times with the same weights (H1..HD); the reconstruction net (conv F -> F, ReLU, conv F -> C)
/// turns every Hd into a prediction yd = rec(Hd) + x, and the output is their average weighted by D learned scalars
/// (normalised to sum to one). Training supervises every recursion (<see cref="TrainingLoss"/>).
/// Keys follow togheppi/pytorch-super-resolution-model-collection drcn.py (no licence stated):
/// <c>embedding_layer.{0,1}.conv</c>, <c>conv_block.conv</c>, <c>reconstruction_layer.{0,1}.conv</c>, <c>w</c>.
/// </summary>
internal sealed class Drcn : PreUpsampledNetwork
{
    private readonly Sequential embedding_layer;
    private readonly ConvRelu conv_block;
    private readonly Sequential reconstruction_layer;
    private readonly Parameter w;

    private readonly int _numRecursion;
    private readonly double _alpha;

    /// <summary>Builds DRCN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Drcn(DrcnOptions options, int scale, int channels)
        : base(nameof(Drcn), scale, channels, options.PreUpsampling)
    {
        if (options.NumRecursion < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumRecursion, "DRCN needs at least one recursion.");
        if (options.Alpha is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Alpha, "Alpha must lie in [0, 1].");
        int f = options.NumFeat;
        embedding_layer = nn.Sequential(new ConvRelu(channels, f), new ConvRelu(f, f));
        conv_block = new ConvRelu(f, f);
        reconstruction_layer = nn.Sequential(new ConvRelu(f, f), new ConvRelu(f, channels, relu: false));
        using (var recursions = options.NumRecursion.ToScalar()) // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            w = new Parameter(ones(options.NumRecursion).div_(recursions));
        _numRecursion = options.NumRecursion;
        _alpha = options.Alpha;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor Refine(Tensor upscaled)
    {
        using var scope = NewDisposeScope();
        return Recurse(upscaled, predictions: null).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The paper's loss: <c>Alpha</c> times the mean over recursions of criterion(yd, HR) plus (1 - <c>Alpha</c>) times
    /// criterion(output, HR). The paper's weight decay is left to the optimiser.
    /// </summary>
    public override Tensor TrainingLoss(Tensor lowRes, Tensor highRes, Func<Tensor, Tensor, Tensor> criterion)
    {
        using var scope = NewDisposeScope();
        var predictions = new List<Tensor>(_numRecursion);
        var final = Recurse(Upscale(lowRes), predictions);
        var intermediate = stack(predictions.Select(y => criterion(y, highRes))).mean();
        using var alpha = _alpha.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        using var rest = (1 - _alpha).ToScalar();
        return intermediate.mul(alpha).Plus(criterion(final, highRes).mul(rest)).MoveToOuterDisposeScope();
    }

    // The weighted output; the caller's dispose scope owns every tensor made here. When predictions is given, each
    // recursion's yd is added to it.
    private Tensor Recurse(Tensor upscaled, List<Tensor>? predictions)
    {
        var weights = w.div(w.sum());
        var h = embedding_layer.forward(upscaled);
        Tensor? residual = null;
        for (int d = 0; d < _numRecursion; d++)
        {
            h = conv_block.forward(h);
            var rd = reconstruction_layer.forward(h);
            predictions?.Add(rd.Plus(upscaled));
            var weighted = rd.mul(weights[d]);
            residual = residual is null ? weighted : residual.Plus(weighted);
        }

        // Sum of wd (rd + x) with the wd summing to one = sum of wd rd + x.
        return residual!.Plus(upscaled);
    }
}

/// <summary>DRCN hyper-parameters.</summary>
public sealed record DrcnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Drcn;

    /// <summary>Features of every hidden layer. Paper 256; the notes 64.</summary>
    public int NumFeat { get; init; } = 256;

    /// <summary>Recursions D of the shared inference conv. Paper 16; the notes 6.</summary>
    public int NumRecursion { get; init; } = 16;

    /// <summary>
    /// Weight of the recursive supervision (the mean of the D intermediate losses) against the final output's loss.
    /// The paper starts at 1 and decays it towards 0 during training; here it is fixed, default 0.5.
    /// </summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>How the LR input is upscaled first. Paper bicubic.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>The paper's network: 256 features, 16 recursions.</summary>
    public static DrcnOptions Paper => new();

    /// <summary>The founding notes' network: 64 features, 6 recursions.</summary>
    public static DrcnOptions Notes => new() { NumFeat = 64, NumRecursion = 6 };
}

internal sealed class DrcnDescriptor : SrNetworkDescriptor<DrcnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Drcn;
    public override string Citation => "Kim, Lee, Lee: Deeply-Recursive Convolutional Network for Image Super-Resolution, CVPR 2016";
    public override string Reference => "togheppi/pytorch-super-resolution-model-collection drcn.py (no licence stated)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override DrcnOptions Paper => DrcnOptions.Paper;
    protected override DrcnOptions Notes => DrcnOptions.Notes;
    protected override SrNetwork Create(DrcnOptions options, int scale, int channels) => new Drcn(options, scale, channels);
}
