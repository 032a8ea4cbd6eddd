namespace MLNet.SuperResolution;

/// <summary>What happened while a <see cref="SuperResolutionTransformer"/> was trained.</summary>
public sealed class SrTrainingSummary
{
    internal SrTrainingSummary(int steps, int skippedNonFiniteSteps, IReadOnlyList<double> epochLosses, TimeSpan duration, int patchSize)
    {
        Steps = steps;
        SkippedNonFiniteSteps = skippedNonFiniteSteps;
        EpochLosses = epochLosses;
        Duration = duration;
        PatchSize = patchSize;
    }

    /// <summary>Optimisation steps attempted (including skipped ones).</summary>
    public int Steps { get; }

    /// <summary>
    /// Steps skipped because the loss or a gradient was NaN or infinite (seen with oneDNN convolution kernels on some
    /// AVX-512 CPUs); the weights were not updated on those steps.
    /// </summary>
    public int SkippedNonFiniteSteps { get; }

    /// <summary>Mean training loss of each epoch (over its finite steps).</summary>
    public IReadOnlyList<double> EpochLosses { get; }

    /// <summary>Wall-clock training time.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The HR patch side actually used.</summary>
    public int PatchSize { get; }
}
