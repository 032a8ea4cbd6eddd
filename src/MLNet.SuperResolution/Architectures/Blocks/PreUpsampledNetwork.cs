using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Base of the networks that refine a pre-upscaled image (VDSR, DRCN, DRRN, MemNet): <c>forward</c> upscales the LR
/// batch with <see cref="PreUpsampling"/> and hands it to <see cref="Refine"/>, which works at the output size. Keeping
/// the two apart lets imported weights be checked on an already upscaled probe, as the reference code is run.
/// </summary>
internal abstract class PreUpsampledNetwork : SrNetwork
{
    private readonly SrPreUpsampling _preUpsampling;

    /// <summary>Stores the pre-upsampling mode.</summary>
    protected PreUpsampledNetwork(string name, int scale, int channels, SrPreUpsampling preUpsampling)
        : base(name, scale, channels)
        => _preUpsampling = preUpsampling;

    /// <summary>The LR batch [N, C, h, w] upscaled to [N, C, h*Scale, w*Scale] with the configured interpolation.</summary>
    public Tensor Upscale(Tensor lowRes) => PreUpsampling.Apply(lowRes, Scale, _preUpsampling);

    /// <summary>The network proper: maps the upscaled batch to the restored batch of the same size.</summary>
    public abstract Tensor Refine(Tensor upscaled);

    /// <inheritdoc />
    public sealed override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Refine(Upscale(input)).MoveToOuterDisposeScope();
    }
}
