namespace MLNet.SuperResolution;

/// <summary>
/// Where training stands, passed to <see cref="SuperResolutionOptions.ProgressCallback"/> after every optimisation step
/// (the same figures go to ML.NET's progress channel and, every <see cref="SuperResolutionOptions.LogEveryNSteps"/>
/// steps, to <c>MLContext.Log</c>).
/// </summary>
/// <param name="Epoch">The current epoch, 1-based.</param>
/// <param name="Epochs">The epochs of the whole run.</param>
/// <param name="Step">Optimisation steps done, earlier sessions of a resumed run included.</param>
/// <param name="TotalSteps">The steps of the whole run.</param>
/// <param name="Loss">The last step's training loss (NaN for a skipped, non-finite step).</param>
/// <param name="ValidationPsnr">The last validation's mean PSNR in dB, or NaN before the first (or without a validation set).</param>
/// <param name="PatchesPerSecond">Training patches per second in this session.</param>
/// <param name="Remaining">Estimated time to the last step at this session's speed.</param>
public sealed record SrTrainingProgress(int Epoch, int Epochs, int Step, int TotalSteps, double Loss, double ValidationPsnr,
    double PatchesPerSecond, TimeSpan Remaining);
