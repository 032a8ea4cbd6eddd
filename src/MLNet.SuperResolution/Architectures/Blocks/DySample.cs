using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// DySample, the learned upsampler of Liu et al., "Learning to Upsample by Learning to Sample" (ICCV 2023), as neosr
/// adapted it (muslll/neosr neosr/archs/arch_util.py, <c>DySample</c>, Apache-2.0; RealPLKSR's <c>dysample</c>
/// option). Each output pixel bilinearly samples the input (<c>grid_sample</c>, border padding, align_corners false)
/// at its own position plus a learned offset: <c>offset(x) * sigmoid(scope(x)) * 0.5 + init_pos</c>, in input pixels,
/// where <c>init_pos</c> places the s x s sub-pixels of an input pixel at their centres. The channels are sampled in
/// <c>groups</c> that share an offset; every input channel comes out at s times the size, and an optional 1x1
/// <c>end_conv</c> maps them to the output channels.
/// Keys: <c>end_conv.weight</c>, <c>end_conv.bias</c> (when present), <c>offset.weight</c>, <c>offset.bias</c>
/// [2 g s^2, C_in, 1, 1], <c>scope.weight</c> (no bias), and the buffer <c>init_pos</c> [1, 2 g s^2, 1, 1].
/// Initialisation as the reference's: offset weight trunc_normal(std 0.02), scope weight 0.
/// </summary>
internal sealed class DySample : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>? end_conv;
    private readonly nn.Module<Tensor, Tensor> offset;
    private readonly nn.Module<Tensor, Tensor> scope;
    private readonly Tensor init_pos;
    private readonly int _scale;
    private readonly int _groups;

    /// <summary>
    /// Upsamples <paramref name="inChannels"/> channels by <paramref name="scale"/> in <paramref name="groups"/> offset
    /// groups, then (with <paramref name="endConvolution"/>) maps them to <paramref name="outChannels"/>.
    /// </summary>
    public DySample(long inChannels, long outChannels, int scale, int groups, bool endConvolution) : base(nameof(DySample))
    {
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be at least 1.");
        if (groups < 1 || inChannels < groups || inChannels % groups != 0)
            throw new ArgumentException($"DySample needs input channels ({inChannels}) that are a multiple of the groups ({groups}).", nameof(groups));
        _scale = scale;
        _groups = groups;
        long offsets = 2L * groups * scale * scale;
        if (endConvolution)
            end_conv = Layers.Conv(inChannels, outChannels, 1);
        offset = Layers.Conv(inChannels, offsets, 1);
        scope = Layers.Conv(inChannels, offsets, 1, bias: false);
        Initialization.TruncatedNormalWeight(offset, 0.02);
        using (no_grad())
            scope.named_parameters().Single(p => p.name == "weight").parameter.zero_();
        init_pos = InitialPositions(scale, groups);
        RegisterComponents();
    }

    /// <summary>
    /// The offsets of the s x s sub-pixel centres from their input pixel's centre, in input pixels:
    /// h_i = (i - (s - 1) / 2) / s; channel c of group g, row i, column j holds h_j for c = 0 (x) and h_i for c = 1 (y),
    /// at index ((c g_total + g) s + i) s + j. Float32, as the reference's <c>arange</c> / s.
    /// </summary>
    internal static Tensor InitialPositions(int scale, int groups)
    {
        var h = new float[scale];
        for (int i = 0; i < scale; i++)
            h[i] = (float)((-scale + 1) / 2.0 + i) / scale;
        var values = new float[2 * groups * scale * scale];
        for (int c = 0; c < 2; c++)
            for (int g = 0; g < groups; g++)
                for (int i = 0; i < scale; i++)
                    for (int j = 0; j < scale; j++)
                        values[((c * groups + g) * scale + i) * scale + j] = c == 0 ? h[j] : h[i];
        return tensor(values, [1, values.Length, 1, 1]);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var disposeScope = NewDisposeScope();
        long batch = input.shape[0], height = input.shape[2], width = input.shape[3];
        int s = _scale;
        var offsets = offset.forward(input).mul(scope.forward(input).sigmoid()).mul(ScalarSafe.Constant(0.5)).Plus(init_pos)
            .reshape(batch, 2, -1, height, width);

        // Each input pixel's centre (x, y) = (w + 0.5, h + 0.5), [1, 2, 1, H, W]: built in float32 as the reference's arange.
        var centres = new float[2 * height * width];
        for (long y = 0; y < height; y++)
            for (long x = 0; x < width; x++)
            {
                centres[y * width + x] = x + 0.5f;
                centres[height * width + y * width + x] = y + 0.5f;
            }

        var grid = tensor(centres, [1, 2, 1, height, width]).to(input.dtype, input.device);
        var normalizer = tensor(new float[] { width, height }, [1, 2, 1, 1, 1]).to(input.dtype, input.device);
        // 2 (centre + offset) / size - 1: grid_sample's [-1, 1] coordinates (align_corners false).
        var coordinates = grid.Plus(offsets).mul(ScalarSafe.Constant(2)).div(normalizer).sub(ScalarSafe.Constant(1));
        coordinates = nn.functional.pixel_shuffle(coordinates.reshape(batch, -1, height, width), s)
            .reshape(batch, 2, -1, s * height, s * width)
            .permute(0, 2, 3, 4, 1)
            .contiguous()
            .flatten(0, 1);
        var output = nn.functional.grid_sample(input.reshape(batch * _groups, -1, height, width), coordinates,
                GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false)
            .reshape(batch, -1, s * height, s * width);
        if (end_conv is not null)
            output = end_conv.forward(output);
        return output.MoveToOuterDisposeScope();
    }
}
