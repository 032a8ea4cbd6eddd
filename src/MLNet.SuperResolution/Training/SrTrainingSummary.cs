namespace MLNet.SuperResolution;

/// <summary>What happened while a <see cref="SuperResolutionTransformer"/> was trained.</summary>
public sealed class SrTrainingSummary
{
    internal SrTrainingSummary(int steps, int skippedNonFiniteSteps, IReadOnlyList<double> epochLosses, TimeSpan duration, int patchSize,
        SrStopReason stopReason = SrStopReason.Completed, IReadOnlyList<SrValidationResult>? validations = null)
    {
        StopReason = stopReason;
        Validations = validations ?? Array.Empty<SrValidationResult>();
        Steps = steps;
        SkippedNonFiniteSteps = skippedNonFiniteSteps;
        EpochLosses = epochLosses;
        Duration = duration;
        PatchSize = patchSize;
    }

    /// <summary>
    /// The trained model against bicubic on the built-in check patches (<see cref="SrBicubicComparison"/>), measured when
    /// training ended; its warning is also logged. Not saved with the model: null after <c>Model.Load</c> (call
    /// <see cref="SuperResolutionTransformer.CompareWithBicubic"/> there), or when it could not be measured.
    /// </summary>
    public SrBicubicComparison? BicubicComparison { get; internal set; }

    /// <summary>Optimisation steps attempted (including skipped ones).</summary>
    public int Steps { get; }

    /// <summary>
    /// Steps skipped because the loss or a gradient was NaN or infinite (seen with oneDNN convolution kernels on some
    /// AVX-512 CPUs); the weights were not updated on those steps.
    /// </summary>
    public int SkippedNonFiniteSteps { get; }

    /// <summary>
    /// Mean training loss of each epoch (over its finite steps), earlier sessions of a resumed run included; the last
    /// entry covers a partial epoch when <see cref="SuperResolutionOptions.MaxTrainingTime"/> stopped training mid-epoch.
    /// </summary>
    public IReadOnlyList<double> EpochLosses { get; }

    /// <summary>
    /// Rows of the training data left out as bad (unreadable or missing image, sizes that do not match the scale) with
    /// <see cref="SuperResolutionOptions.BadRowHandling"/> = <see cref="SrBadRowHandling.Skip"/>; each was logged as a
    /// warning naming the row and its file. 0 for models saved before this count was recorded.
    /// </summary>
    public int SkippedTrainingRows { get; internal set; }

    /// <summary>Rows of <see cref="SuperResolutionOptions.ValidationSet"/> left out as bad, as <see cref="SkippedTrainingRows"/>.</summary>
    public int SkippedValidationRows { get; internal set; }

    /// <summary>Wall-clock training time.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The HR patch side actually used.</summary>
    public int PatchSize { get; }

    /// <summary>Why training ended.</summary>
    public SrStopReason StopReason { get; }

    /// <summary>Every validation, in order (empty without <see cref="SuperResolutionOptions.ValidationSet"/>).</summary>
    public IReadOnlyList<SrValidationResult> Validations { get; }

    /// <summary>The validation with the highest PSNR (the first of equals), or null when there was none.</summary>
    public SrValidationResult? BestValidation => Validations.Count == 0 ? null : Validations.MaxBy(v => v.Psnr);
}

/// <summary>One validation during training.</summary>
/// <param name="Epoch">The epoch after which it ran (1-based).</param>
/// <param name="Step">The optimisation steps done when it ran.</param>
/// <param name="Psnr">Mean PSNR in dB over the validation images: Y channel, <c>scale</c> pixels shaved from each border.</param>
public sealed record SrValidationResult(int Epoch, int Step, double Psnr);

/// <summary>Why training ended.</summary>
public enum SrStopReason
{
    /// <summary>All <see cref="SuperResolutionOptions.Epochs"/> were trained.</summary>
    Completed = 0,

    /// <summary>Validation PSNR did not improve for <see cref="SuperResolutionOptions.EarlyStoppingPatience"/> validations.</summary>
    EarlyStopping = 1,

    /// <summary><see cref="SuperResolutionOptions.MaxTrainingTime"/> was reached.</summary>
    TimeLimit = 2,
}
