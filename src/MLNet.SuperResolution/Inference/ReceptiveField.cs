using System.Runtime.CompilerServices;
using MLNet.SuperResolution.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// A network's receptive field, as tiling needs it: the radius R in low-resolution pixels such that the output
/// pixels of LR pixel q depend only on LR pixels within q ± R (both axes). Bounded is false for a network with a
/// global operation, or one whose field is wider than the largest probe.
/// </summary>
internal sealed record ReceptiveField(int Radius, bool Bounded)
{
    /// <summary>The overlap used where the field is unbounded or too wide to measure: an approximation.</summary>
    public const int UnboundedOverlap = 32;

    /// <summary>The largest probe side in LR pixels (fields up to (side - 2) / 2 are measured).</summary>
    public const int MaxProbe = 256;

    private static readonly ConditionalWeakTable<SrNetwork, ReceptiveField> Cache = new();

    /// <summary>The overlap that makes tiling exact (the radius), or <see cref="UnboundedOverlap"/>.</summary>
    public int DefaultOverlap => Bounded ? Radius : UnboundedOverlap;

    /// <summary>The field of <paramref name="network"/> (in eval mode, on its device), measured once per network instance.</summary>
    public static ReceptiveField Of(SrNetwork network, Device device) => Cache.GetValue(network, n => Measure(n, device));

    /// <summary>
    /// Global average pooling (channel attention) and group normalisation (RealPLKSR; statistics over the whole image)
    /// make every output pixel depend on every input pixel: declared unbounded without probing. Otherwise an impulse probe: a random LR image and a copy whose centre pixel is
    /// changed go through the network as one batch; the HR pixels that differ at all (exactly, not above a
    /// threshold: outside the field the two computations are identical on the CPU; a threshold of 1e-6 of the
    /// output left out enough small contributions of deep residual networks to miss 1e-4) give the field. A device
    /// whose kernels are not bit-identical for identical inputs makes the field look global (then overlap 32).
    /// Probes of 16, 32, ... LR
    /// pixels until the changed pixels stay clear of the border.
    /// </summary>
    private static ReceptiveField Measure(SrNetwork network, Device device)
    {
        if (network.modules().Any(m => m is AdaptiveAvgPool2d or GroupNorm))
            return new ReceptiveField(0, Bounded: false);
        if (network.ReceptiveRadiusBound is int bound && bound > (MaxProbe - 2) / 2)
            return new ReceptiveField(0, Bounded: false);

        for (int side = 16; side <= MaxProbe; side *= 2)
        {
            var field = Probe(network, device, side);
            if (field is not null)
                return field;
        }

        return new ReceptiveField(0, Bounded: false);
    }

    /// <summary>One probe of <paramref name="side"/> x <paramref name="side"/> LR pixels; null when the field reaches its border.</summary>
    private static ReceptiveField? Probe(SrNetwork network, Device device, int side)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int s = network.Scale, centre = side / 2;
        using var generator = new Generator(12345);
        var image = rand(new long[] { 1, network.Channels, side, side }, generator: generator);
        var changed = image.clone();
        var pixel = image[.., .., centre, centre];
        changed[.., .., centre, centre] = ones_like(pixel).sub_(pixel); // 1 - pixel, without an implicit Scalar
        var output = network.forward(cat(new[] { image, changed }, 0).to(device)).to(ScalarType.Float64).cpu();
        // Dimensions as longs: a literal 0 would convert to the ScalarType overload of sum (a total).
        var difference = output[1].sub(output[0]).abs().sum(0L, keepdim: false); // [H, W]
        var rows = Changed(difference.sum(1L, keepdim: false));
        var columns = Changed(difference.sum(0L, keepdim: false));
        if (rows.Length == 0)
            return null; // no effect at all: a degenerate (e.g. all-zero) network; try a larger probe, then give up
        int hr = side * s;
        if (rows[0] < s || columns[0] < s || rows[^1] >= hr - s || columns[^1] >= hr - s)
            return null;

        // HR pixel Y = s q + k (0 <= k < s) depends on LR pixel c when s c + a <= Y <= s c + b; q and c are
        // integers, so q - c <= floor(b / s) and c - q <= floor((s - 1 - a) / s): the radius is the larger.
        int radius = 0;
        foreach (var (first, last) in new[] { (rows[0], rows[^1]), (columns[0], columns[^1]) })
        {
            int a = first - s * centre, b = last - s * centre;
            radius = Math.Max(radius, Math.Max(FloorDiv(b, s), FloorDiv(s - 1 - a, s)));
        }

        return new ReceptiveField(radius, Bounded: true);
    }

    private static int[] Changed(Tensor profile)
    {
        var values = profile.contiguous().data<double>().ToArray();
        return Enumerable.Range(0, values.Length).Where(i => values[i] != 0).ToArray();
    }

    private static int FloorDiv(int value, int divisor) => (int)Math.Floor(value / (double)divisor);
}
