using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// A super-resolution network: maps a low-resolution batch [N, C, h, w] in [0, 1] to [N, C, h*Scale, w*Scale].
/// Networks that work on a pre-upscaled image do the upscaling inside <c>forward</c>, so callers always feed LR
/// images. No ML.NET types here.
/// </summary>
internal abstract class SrNetwork : nn.Module<Tensor, Tensor>
{
    protected SrNetwork(string name, int scale, int channels) : base(name)
    {
        Scale = scale;
        Channels = channels;
    }

    /// <summary>The upscaling factor.</summary>
    public int Scale { get; }

    /// <summary>Input and output channels: 1 (Y) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>
    /// Builds another network of the same architecture, scale, channels and options (freshly initialised): set by
    /// <see cref="NetworkFactory.Create"/>; how inference makes its bfloat16 copy. Null for networks built otherwise.
    /// </summary>
    internal Func<SrNetwork>? Rebuild { get; set; }

    /// <summary>
    /// An upper bound of the receptive-field radius in LR pixels, for networks that know it from their structure (null:
    /// unknown). <see cref="Inference.ReceptiveField"/> skips probing a network whose bound is beyond what a probe
    /// measures (a deep RRDBNet's 350 pixels would cost a minute of probing to end up unbounded anyway).
    /// </summary>
    internal virtual int? ReceptiveRadiusBound => null;

    /// <summary>Number of trainable parameters (those with requires_grad; fixed ones such as MeanShift are not counted).</summary>
    public long TrainableParameterCount => parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <summary>
    /// The training loss for a batch. The default compares the final output with the HR batch; multi-output networks
    /// (LapSRN's pyramid levels, DRCN's recursions, DRN's dual path) override it to add their extra terms.
    /// </summary>
    /// <param name="lowRes">The LR batch [N, C, h, w].</param>
    /// <param name="highRes">The HR batch [N, C, h*Scale, w*Scale].</param>
    /// <param name="criterion">The element loss chosen by the user (L1, L2, ...), returning a scalar mean.</param>
    public virtual Tensor TrainingLoss(Tensor lowRes, Tensor highRes, Func<Tensor, Tensor, Tensor> criterion)
        => criterion(forward(lowRes), highRes);

    /// <summary>
    /// Layers that the reference recipe trains at a multiple of the learning rate: parameters whose state_dict name starts
    /// with a prefix get its scale (the first match; the rest get 1). Empty for most networks; FSRCNN trains its tail at
    /// a tenth, as its paper and reference do.
    /// </summary>
    public virtual IReadOnlyList<(string Prefix, double Scale)> LearningRateScales => [];
}
