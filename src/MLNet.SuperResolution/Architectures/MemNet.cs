using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// MemNet M6R6: Tai, Yang, Liu and Xu, "MemNet: A Persistent Memory Network for Image Restoration", ICCV 2017.
/// On the upscaled image, a feature extractor (BN-ReLU-conv C -> 64) feeds M memory blocks. Each block applies its
/// recursive unit, one pre-activation residual block (BN-ReLU-conv, BN-ReLU-conv, + input) with shared weights,
/// R times; its gate unit (BN-ReLU-conv 1x1) fuses the R short-term states with the long-term memory (the extractor's
/// output and every earlier block's output) into 64 features. A reconstructor (BN-ReLU-conv 64 -> C) gives the residual
/// added to the upscaled image. Convolutions have no bias.
/// Keys follow Vandermode/pytorch-MemNet memnet.py (no licence stated): <c>feature_extractor.{bn,conv}</c>,
/// <c>dense_memory.{m}.recursive_unit.relu_conv{1,2}.{bn,conv}</c>, <c>dense_memory.{m}.gate_unit.{bn,conv}</c>,
/// <c>reconstructor.{bn,conv}</c>; the recursive unit is one shared residual block as in the paper (the port keeps R
/// separate blocks under <c>recursive_unit.{r}</c>).
/// </summary>
internal sealed class MemNet : PreUpsampledNetwork
{
    private readonly BnReluConv feature_extractor;
    private readonly BnReluConv reconstructor;
    private readonly ModuleList<MemoryBlock> dense_memory;

    /// <summary>Builds MemNet for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public MemNet(MemNetOptions options, int scale, int channels)
        : base(nameof(MemNet), scale, channels, options.PreUpsampling)
    {
        if (options.NumMemblock < 1 || options.NumRecursion < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "MemNet needs at least one memory block and one recursion.");
        feature_extractor = new BnReluConv(channels, options.NumFeat, 3);
        reconstructor = new BnReluConv(options.NumFeat, channels, 3);
        dense_memory = nn.ModuleList(Enumerable.Range(1, options.NumMemblock)
            .Select(m => new MemoryBlock(options.NumFeat, options.NumRecursion, m))
            .ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor Refine(Tensor upscaled)
    {
        using var scope = NewDisposeScope();
        var x = feature_extractor.forward(upscaled);
        var longTerm = new List<Tensor> { x };
        foreach (var block in dense_memory)
        {
            x = block.Forward(x, longTerm);
            longTerm.Add(x);
        }

        return reconstructor.forward(x).Plus(upscaled).MoveToOuterDisposeScope();
    }

    /// <summary>Batch normalisation, ReLU, then a bias-free k x k convolution. Keys <c>bn</c>, <c>conv</c>.</summary>
    private sealed class BnReluConv : nn.Module<Tensor, Tensor>
    {
        private readonly BatchNorm2d bn;
        private readonly nn.Module<Tensor, Tensor> conv;

        public BnReluConv(long inChannels, long outChannels, long kernelSize) : base(nameof(BnReluConv))
        {
            bn = nn.BatchNorm2d(inChannels);
            conv = Layers.Conv(inChannels, outChannels, kernelSize, bias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            return conv.forward(nn.functional.relu(bn.forward(input))).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The residual building block of the recursive unit. Keys <c>relu_conv1</c>, <c>relu_conv2</c>.</summary>
    private sealed class ResidualUnit : nn.Module<Tensor, Tensor>
    {
        private readonly BnReluConv relu_conv1;
        private readonly BnReluConv relu_conv2;

        public ResidualUnit(long numFeat) : base(nameof(ResidualUnit))
        {
            relu_conv1 = new BnReluConv(numFeat, numFeat, 3);
            relu_conv2 = new BnReluConv(numFeat, numFeat, 3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            return relu_conv2.forward(relu_conv1.forward(input)).Plus(input).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Memory block number <c>m</c> (1-based): the recursive unit applied R times, then the gate unit over the R
    /// short-term states and the m long-term ones ((R + m) x F -> F). Keys <c>recursive_unit</c>, <c>gate_unit</c>.
    /// </summary>
    private sealed class MemoryBlock : nn.Module
    {
        private readonly ResidualUnit recursive_unit;
        private readonly BnReluConv gate_unit;
        private readonly int _numRecursion;

        public MemoryBlock(long numFeat, int numRecursion, int index) : base(nameof(MemoryBlock))
        {
            recursive_unit = new ResidualUnit(numFeat);
            gate_unit = new BnReluConv((numRecursion + index) * numFeat, numFeat, 1);
            _numRecursion = numRecursion;
            RegisterComponents();
        }

        /// <summary>The block's output from its input and the long-term memory (earlier outputs, oldest first).</summary>
        public Tensor Forward(Tensor x, IReadOnlyList<Tensor> longTerm)
        {
            using var scope = NewDisposeScope();
            var states = new List<Tensor>(_numRecursion + longTerm.Count);
            for (int r = 0; r < _numRecursion; r++)
            {
                x = recursive_unit.forward(x);
                states.Add(x);
            }

            states.AddRange(longTerm);
            return gate_unit.forward(cat(states, 1)).MoveToOuterDisposeScope();
        }
    }
}

/// <summary>MemNet hyper-parameters (MemNet_M6R6 in the paper).</summary>
public sealed record MemNetOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.MemNet;

    /// <summary>Features of every layer. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Memory blocks M. Paper 6; the notes 3.</summary>
    public int NumMemblock { get; init; } = 6;

    /// <summary>Recursions R of each block's shared residual unit. Paper 6; the notes 3.</summary>
    public int NumRecursion { get; init; } = 6;

    /// <summary>How the LR input is upscaled first. Paper bicubic.</summary>
    public SrPreUpsampling PreUpsampling { get; init; } = SrPreUpsampling.Bicubic;

    /// <summary>The paper's M6R6 network (80 convolutional layers).</summary>
    public static MemNetOptions Paper => new();

    /// <summary>The founding notes' M3R3 network.</summary>
    public static MemNetOptions Notes => new() { NumMemblock = 3, NumRecursion = 3 };
}

internal sealed class MemNetDescriptor : SrNetworkDescriptor<MemNetOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.MemNet;
    public override string Citation => "Tai, Yang, Liu, Xu: MemNet: A Persistent Memory Network for Image Restoration, ICCV 2017";
    public override string Reference => "Vandermode/pytorch-MemNet memnet.py (no licence stated)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override MemNetOptions Paper => MemNetOptions.Paper;
    protected override MemNetOptions Notes => MemNetOptions.Notes;
    protected override SrNetwork Create(MemNetOptions options, int scale, int channels) => new MemNet(options, scale, channels);
}
