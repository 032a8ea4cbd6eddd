namespace MLNet.SuperResolution;

/// <summary>
/// What training (<see cref="SuperResolutionOptions.BadRowHandling"/>, for the training data and the validation set)
/// and <c>mlContext.SuperResolution().Evaluate(...)</c> do with a bad row: one whose image cannot be read (a missing,
/// empty, truncated-header or non-image file; an image smaller than <c>DownscaleImages</c>' scale), whose image is
/// missing, or whose low- and high-resolution images do not match the scale.
/// </summary>
public enum SrBadRowHandling
{
    /// <summary>
    /// Stop with an <see cref="InvalidDataException"/> that names the row index, the row's text columns (the file path
    /// for images from <c>LoadImages</c>) and what was wrong. The default.
    /// </summary>
    Fail = 0,

    /// <summary>
    /// Leave the row out, log a warning naming it, and count it (<see cref="SrTrainingSummary.SkippedTrainingRows"/>,
    /// <see cref="SrTrainingSummary.SkippedValidationRows"/>, <see cref="SuperResolutionMetrics.SkippedRows"/>). When every
    /// row of the data is bad, it still fails.
    /// </summary>
    Skip = 1,
}

/// <summary>A row that <see cref="SrBadRowHandling.Skip"/> left out.</summary>
/// <param name="Index">The row's index in the data view (0-based).</param>
/// <param name="Reason">What was wrong, naming the column and the row's text columns (the file path for images from <c>LoadImages</c>).</param>
public sealed record SrSkippedRow(long Index, string Reason);
