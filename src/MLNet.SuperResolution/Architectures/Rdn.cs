using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// RDN: Zhang, Tian, Kong, Zhong and Fu, "Residual Dense Network for Image Super-Resolution", CVPR 2018.
/// Shallow features (two 3x3 convs, C -> G0 -> G0), D residual dense blocks (C dense layers of growth G, a 1x1 local
/// fusion back to G0 and a local residual), global fusion of all D block outputs (1x1 D·G0 -> G0, 3x3 G0 -> G0) plus
/// a global residual to the first shallow features, then a sub-pixel upsampling net to C channels. No mean shift.
/// Keys follow sanghyun-son/EDSR-PyTorch src/model/rdn.py (MIT): <c>SFENet1</c>, <c>SFENet2</c>,
/// <c>RDBs.{d}.convs.{c}.conv.0</c>, <c>RDBs.{d}.LFF</c>, <c>GFF.{0,1}</c>, <c>UPNet.{0,2}</c> (x2, x3) or
/// <c>UPNet.{0,2,4}</c> (x4); 22,123,395 (x2), 22,308,035 (x3) and 22,271,107 (x4) parameters for RGB (D16 C8 G64).
/// </summary>
internal sealed class Rdn : SrNetwork
{
    private readonly nn.Module<Tensor, Tensor> SFENet1;
    private readonly nn.Module<Tensor, Tensor> SFENet2;
    private readonly ModuleList<ResidualDenseBlock> RDBs;
    private readonly Sequential GFF;
    private readonly Sequential UPNet;

    /// <summary>Builds RDN for <paramref name="scale"/> and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public Rdn(RdnOptions options, int scale, int channels) : base(nameof(Rdn), scale, channels)
    {
        if (options.NumBlock < 1 || options.NumLayer < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "RDN needs at least one residual dense block of at least one layer.");
        int g0 = options.NumFeat, g = options.GrowthRate, k = options.KernelSize;
        SFENet1 = Layers.Conv(channels, g0, k);
        SFENet2 = Layers.Conv(g0, g0, k);
        RDBs = new ModuleList<ResidualDenseBlock>();
        for (int d = 0; d < options.NumBlock; d++)
            RDBs.Add(new ResidualDenseBlock(g0, g, options.NumLayer, k));
        GFF = nn.Sequential(Layers.Conv(options.NumBlock * g0, g0, 1), Layers.Conv(g0, g0, k));
        UPNet = options.Upsampling == RdnUpsampling.SubPixel
            ? SubPixelNet(scale, g0, g, channels, k)
            : nn.Sequential(new BilinearUpsample(scale), Layers.Conv(g0, channels, k));
        RegisterComponents();
    }

    /// <summary>
    /// rdn.py's UPNet: conv G0 -> G·r², PixelShuffle(r), conv G -> C for r = 2, 3; for r = 4 two x2 stages
    /// (G0 -> 4G, shuffle, G -> 4G, shuffle) then conv G -> C.
    /// </summary>
    private static Sequential SubPixelNet(int scale, int numFeat, int growthRate, int channels, int kernelSize)
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        switch (scale)
        {
            case 2 or 3:
                layers.Add(Layers.Conv(numFeat, growthRate * scale * scale, kernelSize));
                layers.Add(nn.PixelShuffle(scale));
                break;
            case 4:
                layers.Add(Layers.Conv(numFeat, growthRate * 4, kernelSize));
                layers.Add(nn.PixelShuffle(2));
                layers.Add(Layers.Conv(growthRate, growthRate * 4, kernelSize));
                layers.Add(nn.PixelShuffle(2));
                break;
            default:
                throw new ArgumentException($"RDN's sub-pixel upsampling supports scales 2, 3 and 4; got {scale}.", nameof(scale));
        }

        layers.Add(Layers.Conv(growthRate, channels, kernelSize));
        return nn.Sequential(layers);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var shallow = SFENet1.forward(input);
        var x = SFENet2.forward(shallow);
        var blockOutputs = new List<Tensor>(RDBs.Count);
        foreach (var block in RDBs)
        {
            x = block.forward(x);
            blockOutputs.Add(x);
        }

        x = GFF.forward(cat(blockOutputs, 1)).Plus(shallow);
        return UPNet.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// rdn.py's <c>RDB</c>: a dense block of C layers (<see cref="DenseBlock"/>, key <c>convs</c>), a 1x1 local feature
    /// fusion G0 + C·G -> G0 (<c>LFF</c>) and the local residual.
    /// </summary>
    private sealed class ResidualDenseBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential convs;
        private readonly nn.Module<Tensor, Tensor> LFF;
        private readonly DenseLayer[] _layers; // the same modules as convs, for the in-place path (an array: not registered twice)
        private readonly long _outChannels;

        public ResidualDenseBlock(int numFeat, int growthRate, int numLayer, int kernelSize) : base("RDB")
        {
            _layers = DenseBlock.Layers(numFeat, growthRate, numLayer, DenseLayerKeys.Sequential, kernelSize).ToArray();
            convs = nn.Sequential(_layers);
            _outChannels = DenseBlock.OutChannels(numFeat, growthRate, numLayer);
            LFF = Layers.Conv(_outChannels, numFeat, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            Tensor features;
            if (DenseBlock.CanAppendInPlace(input))
            {
                // Inference on one image: the layers fill one buffer instead of concatenating (same values).
                features = DenseBlock.NewFeatureBuffer(input, _outChannels);
                features.narrow(1, 0, input.shape[1]).copy_(input);
                DenseBlock.AppendInPlace(_layers, features, 0, input.shape[1]);
            }
            else
            {
                features = convs.forward(input);
            }

            return LFF.forward(features).Plus(input).MoveToOuterDisposeScope();
        }
    }
}

/// <summary>How RDN's tail upscales.</summary>
public enum RdnUpsampling
{
    /// <summary>rdn.py's sub-pixel net: conv and pixel shuffle (one x2 or x3 stage, two x2 stages for x4), conv to C (the paper).</summary>
    SubPixel = 0,

    /// <summary>Bilinear upsampling of the fused features, then a 3x3 convolution G0 -> C (the founding notes).</summary>
    BilinearThenConvolution = 1,
}

/// <summary>RDN hyper-parameters (the paper's D, C, G and G0).</summary>
public sealed record RdnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Rdn;

    /// <summary>Feature channels G0 of the shallow features, of every block's input and output and of the fusion. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Residual dense blocks D. Paper 16; the notes 3.</summary>
    public int NumBlock { get; init; } = 16;

    /// <summary>Dense layers C per block. Paper 8; the notes 3.</summary>
    public int NumLayer { get; init; } = 8;

    /// <summary>Growth rate G: channels each dense layer adds (also the width of the upsampling net). Paper 64.</summary>
    public int GrowthRate { get; init; } = 64;

    /// <summary>Kernel of every non-1x1 convolution (rdn.py's <c>RDNkSize</c>). Paper 3.</summary>
    public int KernelSize { get; init; } = 3;

    /// <summary>How the tail upscales. Paper sub-pixel.</summary>
    public RdnUpsampling Upsampling { get; init; } = RdnUpsampling.SubPixel;

    /// <summary>The paper's D16 C8 G64 network, G0 = 64 (EDSR-PyTorch's RDNconfig 'B'), sub-pixel tail.</summary>
    public static RdnOptions Paper => new();

    /// <summary>The founding notes' D3 C3 network with bilinear upsampling at the end.</summary>
    public static RdnOptions Notes => new() { NumBlock = 3, NumLayer = 3, Upsampling = RdnUpsampling.BilinearThenConvolution };
}

internal sealed class RdnDescriptor : SrNetworkDescriptor<RdnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Rdn;
    public override string Citation => "Zhang, Tian, Kong, Zhong, Fu: Residual Dense Network for Image Super-Resolution, CVPR 2018";
    public override string Reference => "sanghyun-son/EDSR-PyTorch src/model/rdn.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override RdnOptions Paper => RdnOptions.Paper;
    protected override RdnOptions Notes => RdnOptions.Notes;
    protected override SrNetwork Create(RdnOptions options, int scale, int channels) => new Rdn(options, scale, channels);
}
