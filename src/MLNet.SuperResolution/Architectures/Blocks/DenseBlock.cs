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
        // The ReLU works in place on the convolution's fresh output (a convolution's backward does not read its output).
        conv = _reluInside ? nn.Sequential(convolution, nn.ReLU(inplace: true)) : convolution;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return cat([input, Grow(input)], 1).MoveToOuterDisposeScope();
    }

    /// <summary>The layer's new channels alone, ReLU(conv(input)) [N, g, H, W]: what <see cref="forward"/> appends.</summary>
    public Tensor Grow(Tensor input) => _reluInside ? conv.forward(input) : conv.forward(input).relu_();
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

    /// <summary>
    /// Whether a dense chain may fill one preallocated feature buffer instead of concatenating at every layer: only when
    /// autograd is not recording (inference; in-place writes into a buffer earlier layers read would break the backward)
    /// and the batch is one contiguous NCHW image, so that every channel range of the buffer is itself a contiguous NCHW
    /// tensor the convolutions read without a copy (not channels-last inputs, whose channel ranges are strided). Each
    /// layer's output is then copied once, instead of the whole growing prefix at every layer (L copies of g channels
    /// against the sum over l of c + l·g).
    /// </summary>
    public static bool CanAppendInPlace(Tensor input)
        => !is_grad_enabled() && input.dim() == 4 && input.shape[0] == 1 && input.is_contiguous();

    /// <summary>An uninitialised [1, <paramref name="channels"/>, H, W] feature buffer with the dtype, device and size of <paramref name="like"/>.</summary>
    public static Tensor NewFeatureBuffer(Tensor like, long channels)
        => empty([1, channels, like.shape[2], like.shape[3]], dtype: like.dtype, device: like.device);

    /// <summary>
    /// Runs <paramref name="layers"/> in order, layer l reading the buffer's channels [start, start + width + l·g) and its
    /// output written right after them: the buffer's range [start, returned end) then holds what the concatenating
    /// <see cref="DenseLayer.forward"/> chain would return. Use only where <see cref="CanAppendInPlace"/> holds.
    /// </summary>
    /// <returns>The width of the filled range from <paramref name="start"/>: <paramref name="width"/> + L·g.</returns>
    public static long AppendInPlace(IEnumerable<DenseLayer> layers, Tensor features, long start, long width)
    {
        foreach (var layer in layers)
        {
            using var scope = NewDisposeScope();
            var grown = layer.Grow(features.narrow(1, start, width));
            long growth = grown.shape[1];
            if (start + width + growth > features.shape[1])
                throw new ArgumentException($"The feature buffer has {features.shape[1]} channels; the dense chain needs more than that.", nameof(features));
            features.narrow(1, start + width, growth).copy_(grown);
            width += growth;
        }

        return width;
    }
}
