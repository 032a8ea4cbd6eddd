using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// SRGAN's VGG54 content loss (Ledig et al., CVPR 2017, eq. 5): the mean squared difference between the VGG19 feature
/// maps of the output and of the ground truth after the 4th convolution before the 5th max-pooling (after its ReLU),
/// i.e. torchvision's <c>vgg19().features[:36]</c> (through <c>relu5_4</c>). Inputs are RGB in [0, 1], normalised with
/// the ImageNet mean and standard deviation that torchvision's VGG weights expect. The VGG weights are fixed (no
/// gradients for them); gradients flow to the output image. The weights come only from a file the user supplies:
/// nothing is downloaded.
/// </summary>
internal sealed class PerceptualLoss : IDisposable
{
    private static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    private readonly Vgg19Features _vgg;
    private Tensor _mean;
    private Tensor _std;

    private PerceptualLoss(Vgg19Features vgg)
    {
        _vgg = vgg;
        _vgg.eval();
        foreach (var parameter in _vgg.parameters())
            parameter.requires_grad = false;
        _mean = tensor(ImageNetMean, new long[] { 1, 3, 1, 1 });
        _std = tensor(ImageNetStd, new long[] { 1, 3, 1, 1 });
    }

    /// <summary>The feature network (torchvision's key layout, widths read from the file).</summary>
    internal Vgg19Features Network => _vgg;

    /// <summary>
    /// Reads a VGG19 state_dict (torchvision's <c>vgg19().state_dict()</c>: <c>features.N.weight</c> and
    /// <c>features.N.bias</c> for the 16 convolutions; <c>classifier.*</c> and any other non-<c>features</c> keys are
    /// ignored) with the library's PyTorch import code, and builds the loss on it. Channel counts come from the file's
    /// shapes (torchvision's: 64, 64, 128, ..., 512), so a file with VGG19's layer layout but other widths also loads.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a state_dict, or not VGG19's features (missing or extra convolution keys, shapes that do not chain).</exception>
    public static PerceptualLoss Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Vgg19WeightsPath '{path}' does not exist. The perceptual loss needs VGG19 weights that you supply; nothing is downloaded.", path);
        var stateDict = PyTorchWeights.ReadStateDict(path);
        try
        {
            int[] widths = Vgg19Features.WidthsOf(stateDict, path);
            var vgg = new Vgg19Features(widths);
            try
            {
                using (no_grad())
                {
                    foreach (var (key, destination) in vgg.state_dict())
                        destination.copy_(stateDict[key]);
                }

                return new PerceptualLoss(vgg);
            }
            catch
            {
                vgg.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var tensor in stateDict.Values)
                tensor.Dispose();
        }
    }

    /// <summary>Moves the feature network to <paramref name="device"/>.</summary>
    public void To(Device device)
    {
        _vgg.to(device);
        var mean = _mean.to(device);
        var std = _std.to(device);
        if (!ReferenceEquals(mean, _mean))
        {
            _mean.Dispose();
            _mean = mean;
        }

        if (!ReferenceEquals(std, _std))
        {
            _std.Dispose();
            _std = std;
        }
    }

    /// <summary>
    /// The VGG54 loss of an output batch against its target batch, both [N, 3, H, W] RGB in [0, 1] with H, W at least
    /// 16 (four max-poolings): mean over every feature element of the squared difference. A scalar; differentiable in
    /// <paramref name="output"/>, the target's features are computed without gradients.
    /// </summary>
    public Tensor Loss(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        var outputFeatures = _vgg.forward(output.sub(_mean).div(_std));
        Tensor targetFeatures;
        using (no_grad())
            targetFeatures = _vgg.forward(target.sub(_mean).div(_std));
        return nn.functional.mse_loss(outputFeatures, targetFeatures).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _vgg.Dispose();
        _mean.Dispose();
        _std.Dispose();
    }
}

/// <summary>
/// VGG19's convolutional layers up to <c>relu5_4</c>, with torchvision's keys: a <c>features</c> sequence whose
/// convolutions (3x3, padding 1, with bias) sit at indices 0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32,
/// 34, ReLUs after each, 2x2 max-poolings at 4, 9, 18, 27 (torchvision's 36, the last pooling, is left out, as SRGAN's
/// VGG54 is taken before it).
/// </summary>
internal sealed class Vgg19Features : nn.Module<Tensor, Tensor>
{
    /// <summary>The indices of the 16 convolutions in torchvision's <c>vgg19().features</c>.</summary>
    public static readonly int[] ConvolutionIndices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];

    /// <summary>The indices of the max-poolings kept (before <c>relu5_4</c>).</summary>
    private static readonly int[] PoolingIndices = [4, 9, 18, 27];

    /// <summary>torchvision's channel counts of the 16 convolutions.</summary>
    public static readonly int[] TorchvisionWidths = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];

    /// <summary>The last layer kept: <c>features.35</c>, the ReLU after <c>conv5_4</c>.</summary>
    private const int LastIndex = 35;

    private readonly Sequential features;

    /// <summary>Builds the layers with the given output channels of the 16 convolutions (RGB input).</summary>
    public Vgg19Features(IReadOnlyList<int> widths) : base("VGG")
    {
        if (widths.Count != ConvolutionIndices.Length)
            throw new ArgumentException($"VGG19 has {ConvolutionIndices.Length} convolutions; got {widths.Count} widths.", nameof(widths));
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int inChannels = 3;
        int convolution = 0;
        for (int index = 0; index <= LastIndex; index++)
        {
            if (convolution < ConvolutionIndices.Length && ConvolutionIndices[convolution] == index)
            {
                layers.Add(Layers.Conv(inChannels, widths[convolution], 3, bias: true));
                inChannels = widths[convolution++];
            }
            else if (PoolingIndices.Contains(index))
            {
                layers.Add(nn.MaxPool2d(2, 2));
            }
            else
            {
                layers.Add(nn.ReLU());
            }
        }

        features = nn.Sequential(layers);
        Widths = widths.ToArray();
        RegisterComponents();
    }

    /// <summary>The output channels of the 16 convolutions.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>Maps [N, 3, H, W] (ImageNet-normalised RGB) to the <c>relu5_4</c> features [N, C, H / 16, W / 16].</summary>
    public override Tensor forward(Tensor input) => features.forward(input);

    /// <summary>
    /// The 16 convolutions' output channels from a state_dict's <c>features.*</c> entries, after checking that they are
    /// exactly VGG19's convolutions (3x3 kernels, RGB input, each layer's input the previous layer's output).
    /// </summary>
    /// <exception cref="InvalidDataException">Anything else, listing what differs.</exception>
    public static int[] WidthsOf(IReadOnlyDictionary<string, Tensor> stateDict, string path)
    {
        var expected = ConvolutionIndices.SelectMany(i => new[] { $"features.{i}.weight", $"features.{i}.bias" }).ToHashSet(StringComparer.Ordinal);
        var present = stateDict.Keys.Where(k => k.StartsWith("features.", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(k => !present.Contains(k)).OrderBy(KeyOrder).ToList();
        var unexpected = present.Where(k => !expected.Contains(k)).OrderBy(KeyOrder).ToList();
        var problems = new List<string>();
        if (missing.Count > 0)
            problems.Add($"missing: {string.Join(", ", missing)}");
        if (unexpected.Count > 0)
            problems.Add($"unexpected: {string.Join(", ", unexpected)}");

        var widths = new int[ConvolutionIndices.Length];
        if (problems.Count == 0)
        {
            long inChannels = 3;
            for (int c = 0; c < ConvolutionIndices.Length; c++)
            {
                string name = $"features.{ConvolutionIndices[c]}";
                var weight = stateDict[name + ".weight"].shape;
                var bias = stateDict[name + ".bias"].shape;
                if (weight.Length != 4 || weight[1] != inChannels || weight[2] != 3 || weight[3] != 3 || bias.Length != 1 || bias[0] != weight[0])
                    problems.Add($"shape: {name}.weight [{string.Join(",", weight)}] and .bias [{string.Join(",", bias)}], expected [out,{inChannels},3,3] and [out]");
                else
                    widths[c] = (int)weight[0];
                inChannels = weight.Length == 4 ? weight[0] : inChannels;
            }
        }

        if (problems.Count > 0)
            throw new InvalidDataException(
                $"'{path}' is not a VGG19 state_dict as torchvision writes it (nothing was loaded): {string.Join("; ", problems)}. " +
                "The perceptual loss needs the 16 convolutions of torchvision's vgg19 (not vgg16, not vgg19_bn): in Python, " +
                "torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth').");
        return widths;

        static (int, string) KeyOrder(string key)
        {
            var parts = key.Split('.');
            return (parts.Length > 1 && int.TryParse(parts[1], out int index) ? index : int.MaxValue, key);
        }
    }
}
