namespace MLNet.SuperResolution;

/// <summary>The number format a network runs inference in (<see cref="SrInferenceOptions.Precision"/>).</summary>
public enum SrPrecision
{
    /// <summary>32-bit floating point, as the network was trained: the reference results. The default.</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16 (8-bit mantissa) for the network's weights and activations; the image goes in and comes out as float32.
    /// On CPUs with AVX-512 BF16 (e.g. AMD Zen 4, Intel Sapphire Rapids) 1.4-2x faster, most with
    /// <see cref="SrInferenceOptions.ChannelsLast"/>; outputs differ from float32 by about one 8-bit level
    /// (docs/performance.md has the measured speed and Set5 PSNR change). On CPUs without it, it can be slower than
    /// float32 (not measured here).
    /// </summary>
    BFloat16 = 1,
}
