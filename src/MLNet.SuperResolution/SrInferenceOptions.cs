namespace MLNet.SuperResolution;

/// <summary>
/// How a network is run on an image: in tiles (for images too large to upscale in one forward pass), with the
/// x8 self-ensemble, in channels-last layout and in bfloat16. The defaults upscale images up to 512 x 512
/// low-resolution pixels in one pass and larger ones in tiles whose overlap covers the network's receptive field,
/// which gives the whole-image result (to float rounding, 1e-4) for every network without a global operation. Saved
/// with the model. Ignored by
/// <see cref="SrArchitecture.Bicubic"/>, which is MATLAB's exact 8-bit <c>imresize</c> on the whole image.
/// </summary>
public sealed class SrInferenceOptions
{
    /// <summary>The smallest explicit <see cref="TileSize"/>: smaller tiles would spend almost all their time on the overlap.</summary>
    public const int MinTileSize = 8;

    /// <summary>
    /// Side of a tile's core in low-resolution pixels: each tile upscales this many pixels (fewer at the right and
    /// bottom edges), seeing <see cref="TileOverlap"/> more on every side that is inside the image. Null or 0
    /// (default) means automatic: the image is tiled only above <see cref="MaxUntiledPixels"/>, with tiles of
    /// sqrt(<see cref="MaxUntiledPixels"/>) x min(1, 2 / scale) - 2 x overlap pixels (at least <see cref="MinTileSize"/>;
    /// smaller above x2 so that the high-resolution activations stay bounded). A positive
    /// value (at least <see cref="MinTileSize"/>) tiles every image larger than one tile.
    /// </summary>
    public int? TileSize { get; set; }

    /// <summary>
    /// Context in low-resolution pixels that a tile sees beyond its core on each inner side; the network's output
    /// outside the core is discarded (centre-crop blending). Null (default) means the network's receptive-field
    /// radius, measured once per network (exact result); for networks with a global operation (RCAN's and DRN's
    /// channel attention) or a radius above 127 pixels, 32 (an approximation of the whole image; set a larger overlap,
    /// or raise <see cref="MaxUntiledPixels"/> to run such images whole, where exactness matters).
    /// </summary>
    public int? TileOverlap { get; set; }

    /// <summary>
    /// Images with more low-resolution pixels (width x height) than this are tiled when <see cref="TileSize"/> is
    /// automatic. Default 262,144 (512 x 512).
    /// </summary>
    public long MaxUntiledPixels { get; set; } = 512 * 512;

    /// <summary>
    /// The x8 self-ensemble (Lim et al., EDSR, 2017): the network runs on the 8 flips and rotations of the input
    /// and the outputs, transformed back, are averaged. Eight times slower; usually +0.1 to +0.2 dB. Default false.
    /// </summary>
    public bool SelfEnsemble { get; set; }

    /// <summary>
    /// Runs the network on channels-last (NHWC) activations, the layout oneDNN's CPU convolutions work in natively:
    /// the same results to float rounding (below 1e-5 relative; an 8-bit output value can round the other way), 5-35%
    /// faster for most of the zoo on CPUs with AVX-512. Null (default) means
    /// automatic: channels-last on the CPU, the contiguous NCHW layout on other devices. True or false forces it.
    /// </summary>
    public bool? ChannelsLast { get; set; }

    /// <summary>Whether the network runs channels-last on <paramref name="device"/>: <see cref="ChannelsLast"/>, or when automatic, on the CPU.</summary>
    internal bool UsesChannelsLast(TorchSharp.DeviceType device) => ChannelsLast ?? device == TorchSharp.DeviceType.CPU;

    /// <summary>
    /// The number format of the network at inference: <see cref="SrPrecision.Float32"/> (default, the reference) or
    /// <see cref="SrPrecision.BFloat16"/> (faster on CPUs with AVX-512 BF16 or AMX-BF16, about one 8-bit level of
    /// difference; a bfloat16 copy of the network is made on first use, the float32 weights are what the model saves;
    /// on CPUs without native bfloat16 the network runs in float32, see <see cref="SrPrecision.BFloat16"/>).
    /// </summary>
    public SrPrecision Precision { get; set; } = SrPrecision.Float32;

    /// <summary>A copy (the transformer keeps its own, so later changes to an options object do not affect it).</summary>
    internal SrInferenceOptions Clone() => (SrInferenceOptions)MemberwiseClone();

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> that says what is wrong and what to do.</summary>
    /// <param name="parameterName">The argument or option the options came from (for the exception).</param>
    internal void Validate(string parameterName)
    {
        if (TileSize is int tile && tile != 0 && tile < MinTileSize)
            throw new ArgumentOutOfRangeException(parameterName, tile,
                $"{nameof(TileSize)} is {tile}; use at least {MinTileSize} low-resolution pixels, or null/0 for automatic tiling.");
        if (TileOverlap is int overlap && overlap < 0)
            throw new ArgumentOutOfRangeException(parameterName, overlap,
                $"{nameof(TileOverlap)} is {overlap}; use 0 or more low-resolution pixels, or null for the network's receptive field.");
        if (!Enum.IsDefined(Precision))
            throw new ArgumentOutOfRangeException(parameterName, Precision,
                $"{nameof(Precision)} is {(int)Precision}; use {nameof(SrPrecision.Float32)} or {nameof(SrPrecision.BFloat16)}.");
        if (MaxUntiledPixels <= 0)
            throw new ArgumentOutOfRangeException(parameterName, MaxUntiledPixels,
                $"{nameof(MaxUntiledPixels)} is {MaxUntiledPixels}; use a positive pixel count (default {512 * 512} = 512 x 512).");
    }
}
