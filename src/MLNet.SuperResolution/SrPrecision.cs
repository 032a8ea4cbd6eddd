namespace MLNet.SuperResolution;

/// <summary>The number format a network runs inference in (<see cref="SrInferenceOptions.Precision"/>).</summary>
public enum SrPrecision
{
    /// <summary>32-bit floating point, as the network was trained: the reference results. The default.</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16 (8-bit mantissa) for the network's weights and activations; the image goes in and comes out as float32.
    /// On CPUs with AVX-512 BF16 (e.g. AMD Zen 4, Intel Sapphire Rapids) 1.4-2x faster, most with
    /// <see cref="SrInferenceOptions.ChannelsLast"/>; outputs differ from float32 by about one 8-bit level.
    /// On CPUs without native bfloat16 (neither
    /// AVX-512 BF16 nor AMX-BF16, e.g. AMD Zen 3 and earlier) libtorch's bfloat16 convolutions were measured 8-240x slower
    /// than float32, so there the network runs in float32 instead, with a warning in ML.NET's log
    /// (<see cref="SuperResolutionUpscaler.Precision"/> says what runs). GPUs run what is asked.
    /// </summary>
    BFloat16 = 1,
}
