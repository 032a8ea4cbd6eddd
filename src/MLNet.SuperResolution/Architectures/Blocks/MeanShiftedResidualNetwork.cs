using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// The layout EDSR-PyTorch's EDSR and RCAN share (<c>edsr.py</c>, <c>rcan.py</c>): the LR batch is taken to
/// [0, rgb_range], its mean colour is removed, and
/// <code>
///   sub_mean ──> head: conv 3x3 C -> F ──┬──> body: blocks, conv 3x3 ──(+)──> tail: upsampler, conv 3x3 F -> C ──> add_mean
///                                        └────────────────────────────┘
/// </code>
/// then the mean is added back and the result divided by rgb_range, so callers feed and get [0, 1].
/// Keys: <c>sub_mean.*</c> and <c>add_mean.*</c> (fixed, not trainable), <c>head.0</c>, <c>body.{0..n-1}.*</c> (the
/// blocks), <c>body.{n}</c>, <c>tail.0.*</c> (<see cref="Upsampler"/>), <c>tail.1</c>.
/// </summary>
internal abstract class MeanShiftedResidualNetwork : SrNetwork
{
    private readonly MeanShift sub_mean;
    private readonly Sequential head;
    private readonly Sequential body;
    private readonly Sequential tail;
    private readonly MeanShift add_mean;
    private readonly double _rgbRange;

    /// <summary>
    /// Builds the network around a body of <paramref name="numBlock"/> blocks made by <paramref name="block"/>, each
    /// mapping <paramref name="numFeat"/> features to as many.
    /// </summary>
    protected MeanShiftedResidualNetwork(string name, int scale, int channels, int numFeat, double rgbRange, int numBlock, Func<nn.Module<Tensor, Tensor>> block)
        : base(name, scale, channels)
    {
        if (numFeat < 1)
            throw new ArgumentOutOfRangeException(nameof(numFeat), numFeat, "The network needs at least one feature.");
        if (!(rgbRange > 0))
            throw new ArgumentOutOfRangeException(nameof(rgbRange), rgbRange, "The RGB range must be positive.");
        _rgbRange = rgbRange;
        sub_mean = new MeanShift(channels, rgbRange, -1);
        head = nn.Sequential(Layers.Conv(channels, numFeat, 3));
        body = ResidualGroup.Trunk(numBlock, block, numFeat);
        tail = nn.Sequential(Upsampler.Create(scale, numFeat), Layers.Conv(numFeat, channels, 3));
        add_mean = new MeanShift(channels, rgbRange, 1);

        // The fields are private to this base, which the derived type's RegisterComponents would not see.
        register_module(nameof(sub_mean), sub_mean);
        register_module(nameof(head), head);
        register_module(nameof(body), body);
        register_module(nameof(tail), tail);
        register_module(nameof(add_mean), add_mean);
    }

    /// <inheritdoc />
    public sealed override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var rgbRange = _rgbRange.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        var x = _rgbRange == 1.0 ? input : input.mul(rgbRange);
        x = head.forward(sub_mean.forward(x));
        x = body.forward(x).PlusInPlace(x); // in place, as the reference's `res += x`: the trunk ends in a convolution (fresh output)
        x = add_mean.forward(tail.forward(x));
        if (_rgbRange != 1.0)
            x = x.div(rgbRange);
        return x.MoveToOuterDisposeScope();
    }
}
