namespace MLNet.SuperResolution.Training;

/// <summary>
/// The learning rate of every optimisation step, a pure function of the step index (which is all a resumed run needs
/// to continue the schedule). Milestones and step sizes are in epochs; warm-up is in steps.
/// </summary>
/// <param name="Kind">The schedule.</param>
/// <param name="BaseRate">The learning rate before decay.</param>
/// <param name="TotalSteps">All steps of the run (the cosine reaches its floor at the last one).</param>
/// <param name="StepsPerEpoch">Optimisation steps per epoch (converts epoch milestones to steps).</param>
/// <param name="StepSize">Step schedule: epochs between decays.</param>
/// <param name="Milestones">MultiStep schedule: epochs after which the rate is multiplied by <paramref name="Gamma"/>.</param>
/// <param name="Gamma">Step and MultiStep: the decay factor.</param>
/// <param name="CosineFloor">Cosine: the final rate as a fraction of <paramref name="BaseRate"/>.</param>
/// <param name="WarmupSteps">Steps over which the rate ramps up linearly (multiplies any schedule); 0 = none.</param>
internal sealed record LearningRateSchedule(
    SrLearningRateSchedule Kind,
    double BaseRate,
    int TotalSteps,
    int StepsPerEpoch,
    int StepSize,
    IReadOnlyList<int> Milestones,
    double Gamma,
    double CosineFloor,
    int WarmupSteps)
{
    /// <summary>The learning rate of step <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        double rate = Kind switch
        {
            SrLearningRateSchedule.Constant => BaseRate,
            SrLearningRateSchedule.Step => BaseRate * Math.Pow(Gamma, step / (StepSize * StepsPerEpoch)),
            SrLearningRateSchedule.MultiStep => BaseRate * Math.Pow(Gamma, Milestones.Count(m => step >= m * StepsPerEpoch)),
            SrLearningRateSchedule.Cosine => TotalSteps <= 1
                ? BaseRate
                : BaseRate * (CosineFloor + (1 - CosineFloor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, TotalSteps - 1) / (TotalSteps - 1)))),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown learning-rate schedule."),
        };
        return step < WarmupSteps ? rate * (step + 1) / WarmupSteps : rate;
    }
}
