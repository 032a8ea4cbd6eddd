using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests;

/// <summary>How far a float32 (or any) result is from its float64 reference.</summary>
internal static class Float64Reference
{
    /// <summary>max |actual - expected| / max |expected| (the denominator at least 1e-12), in float64; NaN when actual holds NaN.</summary>
    public static double RelativeMaxError(Tensor actual, Tensor expected)
        => ((actual.to(float64) - expected).abs().max() / expected.abs().max().clamp_min(1e-12)).item<double>();
}
