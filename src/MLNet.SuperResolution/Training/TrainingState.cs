using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>The trainer's counters and history: everything a checkpoint holds besides the tensors of the network, optimiser and average.</summary>
internal sealed class TrainingState : IDisposable
{
    /// <summary>Steps done (including skipped ones); the schedule and the sampler continue from here.</summary>
    public int Step { get; set; }

    public int Skipped { get; set; }

    /// <summary>Mean loss of each completed epoch.</summary>
    public List<double> EpochLosses { get; } = new();

    /// <summary>Loss sum of the current (incomplete) epoch's finite steps.</summary>
    public double EpochSum { get; set; }

    public int EpochFinite { get; set; }

    /// <summary>Training time of the run so far, earlier sessions included.</summary>
    public double Seconds { get; set; }

    public SrStopReason StopReason { get; set; }

    public List<SrValidationResult> Validations { get; } = new();

    /// <summary>Validations since the best one (early stopping's counter).</summary>
    public int ValidationsSinceBest { get; set; }

    /// <summary>The model's state at the best validation (kept when <see cref="TrainingSettings.KeepBestWeights"/>).</summary>
    public Tensor[]? BestWeights { get; set; }

    public SrValidationResult? Best => Validations.Count == 0 ? null : Validations.MaxBy(v => v.Psnr);

    public void Dispose()
    {
        foreach (var tensor in BestWeights ?? Array.Empty<Tensor>())
            tensor.Dispose();
    }
}
