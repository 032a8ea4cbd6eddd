using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>How a <see cref="DenseLayer"/> names its convolution in the state_dict.</summary>
internal enum DenseLayerKeys
{
    /// <summary>
    /// <c>conv</c> is a Sequential of the convolution and the ReLU, so the weight is <c>conv.0.weight</c>
    /// (EDSR-PyTorch rdn.py <c>RDB_Conv</c>).
    /// </summary>
    Sequential = 0,

    /// <summary><c>conv</c> is the convolution itself, <c>conv.weight</c> (yjn870/SRDenseNet-pytorch <c>DenseLayer</c>).</summary>
    Flat = 1,
}

/// <summary>
/// One densely connected layer: a "same"-padded k x k convolution to <c>growth</c> channels and a ReLU, whose output
/// is concatenated after its input, so the layer widens its input by the growth rate.
/// <code>
///   x [N, c, H, W] ─┬──────────────────────────┐
///                   └─ conv kxk c -> g ─ ReLU ──┴─ cat ─> [N, c + g, H, W]
/// </code>
/// </summary>
internal sealed class DenseLayer : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly bool _reluInside;

    /// <summary>A dense layer from <paramref name="inChannels"/> to <paramref name="inChannels"/> + <paramref name="growthRate"/>.</summary>
    public DenseLayer(long inChannels, long growthRate, DenseLayerKeys keys, long kernelSize = 3) : base(nameof(DenseLayer))
    {
        var convolution = Layers.Conv(inChannels, growthRate, kernelSize);
        _reluInside = keys == DenseLayerKeys.Sequential;
        conv = _reluInside ? nn.Sequential(convolution, nn.ReLU()) : convolution;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var grown = _reluInside ? conv.forward(input) : nn.functional.relu(conv.forward(input));
        return cat([input, grown], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A dense block (Huang et al.'s DenseNet without batch normalisation, as RDN and SRDenseNet use it): L dense
/// layers in a row, layer l seeing the block input and every earlier layer's output.
/// <code>
///   x (c) ─┬─ conv+ReLU ─ g ─┐
///          ├─────────────────┴─ cat (c+g) ─┬─ conv+ReLU ─ g ─┐
///          │                               ├─────────────────┴─ cat (c+2g) ─ ... ─ cat (c + L·g)
///   layer l (0-based): conv kxk (c + l·g) -> g; Sequential keys 0 .. L-1
/// </code>
/// RDN puts a 1x1 local fusion and a residual after it (<c>RDB</c>); SRDenseNet starts its blocks with a
/// plain conv+ReLU and concatenates the block input once at the end, so it reuses the layers from 1 on.
/// </summary>
internal static class DenseBlock
{
    /// <summary>The layers of a block, in order (wrap them in a Sequential for keys 0 .. L-1).</summary>
    /// <param name="inChannels">Channels c of the block input.</param>
    /// <param name="growthRate">Channels g each layer adds.</param>
    /// <param name="numLayers">Layers L.</param>
    /// <param name="keys">How each layer names its convolution.</param>
    /// <param name="kernelSize">Kernel of each convolution (3 in both papers).</param>
    public static IEnumerable<DenseLayer> Layers(long inChannels, long growthRate, int numLayers, DenseLayerKeys keys, long kernelSize = 3)
    {
        if (numLayers < 0)
            throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "A dense block cannot have a negative number of layers.");
        for (int l = 0; l < numLayers; l++)
            yield return new DenseLayer(inChannels + l * growthRate, growthRate, keys, kernelSize);
    }

    /// <summary>The block as a Sequential: [N, c, H, W] -> [N, c + L·g, H, W].</summary>
    public static Sequential Create(long inChannels, long growthRate, int numLayers, DenseLayerKeys keys, long kernelSize = 3)
        => nn.Sequential(Layers(inChannels, growthRate, numLayers, keys, kernelSize).Cast<nn.Module<Tensor, Tensor>>().ToList());

    /// <summary>Output channels of a block: c + L·g.</summary>
    public static long OutChannels(long inChannels, long growthRate, int numLayers) => inChannels + numLayers * growthRate;
}
