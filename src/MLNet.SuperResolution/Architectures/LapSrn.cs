using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// LapSRN: Lai, Huang, Ahuja and Yang, "Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution",
/// CVPR 2017. A 3x3 input convolution to 64 features, then one pyramid level per factor of 2. Each level has a feature
/// branch (d 3x3 convolutions and a 4x4 stride-2 transposed convolution, all with LeakyReLU 0.2) feeding the next
/// level, a 3x3 convolution predicting the residual image from those features, and an image branch (a 4x4 stride-2
/// transposed convolution of the previous level's image); the level's image is the sum of the two.
/// Keys follow twtygqyy/pytorch-LapSRN lapsrn.py (MIT): <c>conv_input</c>, and per level k = 1, 2, ...
/// <c>convt_I{k}</c>, <c>convt_R{k}</c>, <c>convt_F{k}.0.cov_block.{0,2,...,2d}</c>; no biases anywhere. 435,344 (x2),
/// 870,112 (x4) and 1,304,880 (x8) parameters for one channel.
/// </summary>
/// <remarks>
/// <c>forward</c> returns the finest level only; <see cref="TrainingLoss"/> applies the criterion at every level
/// against the HR image bicubic-downscaled to that level (the paper's multi-scale Charbonnier loss when the criterion
/// is Charbonnier). The image branch is a <see cref="ChannelPaddedConvTranspose2d"/>: with one channel it is exactly
/// the 1 -> 1, stride-2 layer that oneDNN computes wrongly in float32. As in the reference, the image branch starts as
/// bilinear upsampling (per channel); the other layers keep TorchSharp's default initialisation (the reference draws
/// convolutions from N(0, 2/(9*64)) and sets the feature transposed convolutions to bilinear kernels too).
/// </remarks>
internal sealed class LapSrn : PyramidNetwork
{
    private readonly nn.Module<Tensor, Tensor> conv_input;

    private readonly List<nn.Module<Tensor, Tensor>> _imageBranches = [];
    private readonly List<nn.Module<Tensor, Tensor>> _residuals = [];
    private readonly List<nn.Module<Tensor, Tensor>> _featureBranches = [];

    /// <summary>Builds LapSRN for <paramref name="scale"/> (2, 4 or 8) and <paramref name="channels"/> (1 = Y, 3 = RGB).</summary>
    public LapSrn(LapSrnOptions options, int scale, int channels) : base(nameof(LapSrn), scale, channels)
    {
        int levels = Steps;
        int f = options.NumFeat;
        conv_input = Layers.Conv(channels, f, 3, bias: false);
        for (int k = 1; k <= levels; k++)
        {
            var image = new ChannelPaddedConvTranspose2d(channels, channels, 4, stride: 2, padding: 1, hasBias: false);
            using (no_grad())
                image.get_parameter("weight")!.copy_(BilinearUpsamplingWeight(channels));
            var residual = Layers.Conv(f, channels, 3, bias: false);
            var features = nn.Sequential(new ConvBlock(f, options.NumConv));
            register_module($"convt_I{k}", image);
            register_module($"convt_R{k}", residual);
            register_module($"convt_F{k}", features);
            _imageBranches.Add(image);
            _residuals.Add(residual);
            _featureBranches.Add(features);
        }

        RegisterComponents();
    }

    /// <summary>The sum over levels of <paramref name="criterion"/>(level output, HR bicubic-downscaled to that level).</summary>
    public override Tensor TrainingLoss(Tensor lowRes, Tensor highRes, Func<Tensor, Tensor, Tensor> criterion)
    {
        using var scope = NewDisposeScope();
        var outputs = Outputs(lowRes);
        Tensor? loss = null;
        for (int level = 0; level < outputs.Count; level++)
        {
            var term = criterion(outputs[level], Target(highRes, outputs.Count - 1 - level));
            loss = loss is null ? term : loss.Plus(term);
        }

        return loss!.MoveToOuterDisposeScope();
    }

    /// <summary>The images of every level, x2 first (tensors in the caller's dispose scope).</summary>
    protected override List<Tensor> Outputs(Tensor input)
    {
        var outputs = new List<Tensor>();
        var features = conv_input.forward(input).LeakyRelu(0.2);
        var image = input;
        for (int k = 0; k < _featureBranches.Count; k++)
        {
            features = _featureBranches[k].forward(features);
            image = _imageBranches[k].forward(image).Plus(_residuals[k].forward(features));
            outputs.Add(image);
        }

        return outputs;
    }

    /// <summary>
    /// The image branch's initial weight [C, C, 4, 4]: the reference's bilinear <c>get_upsample_filter(4)</c> on the
    /// diagonal (each channel upsampled on its own; for one channel this is the reference's weight).
    /// </summary>
    private static Tensor BilinearUpsamplingWeight(int channels)
    {
        using var scope = NewDisposeScope();
        var kernel = BilinearKernel(4);
        var weight = zeros(channels, channels, 4, 4);
        for (int c = 0; c < channels; c++)
            weight[c, c] = kernel;
        return weight.MoveToOuterDisposeScope();
    }

    /// <summary>The reference's <c>get_upsample_filter</c>: a [size, size] bilinear kernel.</summary>
    private static Tensor BilinearKernel(int size)
    {
        int factor = (size + 1) / 2;
        double center = size % 2 == 1 ? factor - 1 : factor - 0.5;
        var values = new float[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                values[i * size + j] = (float)((1 - Math.Abs(i - center) / factor) * (1 - Math.Abs(j - center) / factor));
        return tensor(values, new long[] { size, size });
    }

    /// <summary>
    /// The reference's <c>_Conv_Block</c>: <c>cov_block</c> = d x (3x3 conv, LeakyReLU 0.2), then a 4x4 stride-2
    /// transposed convolution and LeakyReLU 0.2, all without bias.
    /// </summary>
    private sealed class ConvBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential cov_block;

        /// <summary>Builds the block with <paramref name="numConv"/> convolutions of <paramref name="numFeat"/> channels.</summary>
        public ConvBlock(int numFeat, int numConv) : base("_Conv_Block")
        {
            var layers = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < numConv; i++)
            {
                layers.Add(Layers.Conv(numFeat, numFeat, 3, bias: false));
                layers.Add(new LeakyRelu(0.2));
            }

            layers.Add(new ChannelPaddedConvTranspose2d(numFeat, numFeat, 4, stride: 2, padding: 1, hasBias: false));
            layers.Add(new LeakyRelu(0.2));
            cov_block = nn.Sequential(layers);
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor input) => cov_block.forward(input);
    }
}

/// <summary>LapSRN hyper-parameters.</summary>
public sealed record LapSrnOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.LapSrn;

    /// <summary>Feature channels. Paper 64.</summary>
    public int NumFeat { get; init; } = 64;

    /// <summary>Convolutions in each level's feature branch (the paper's d). Paper 10.</summary>
    public int NumConv { get; init; } = 10;

    /// <summary>LapSRN with d = 10 convolutions per level.</summary>
    public static LapSrnOptions Paper => new();

    /// <summary>The founding notes' smaller network: 5 convolutions per level.</summary>
    public static LapSrnOptions Notes => new() { NumConv = 5 };
}

internal sealed class LapSrnDescriptor : SrNetworkDescriptor<LapSrnOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.LapSrn;
    public override string Citation => "Lai, Huang, Ahuja, Yang: Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution, CVPR 2017";
    public override string Reference => "twtygqyy/pytorch-LapSRN lapsrn.py (MIT)";
    public override IReadOnlyList<int> Scales { get; } = [2, 4, 8];
    public override SrChannels PaperChannels => SrChannels.Y;
    protected override LapSrnOptions Paper => LapSrnOptions.Paper;
    protected override LapSrnOptions Notes => LapSrnOptions.Notes;
    protected override SrNetwork Create(LapSrnOptions options, int scale, int channels) => new LapSrn(options, scale, channels);
}
