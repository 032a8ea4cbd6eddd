using MLNet.SuperResolution.Architectures;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>One training image pair in the network's channel space: LR [C, h, w] and HR [C, h*s, w*s], float32 on the CPU.</summary>
internal sealed record TrainingPair(Tensor LowRes, Tensor HighRes) : IDisposable
{
    public void Dispose()
    {
        LowRes.Dispose();
        HighRes.Dispose();
    }
}

/// <summary>Settings of <see cref="SrTrainer"/>, already validated.</summary>
internal sealed record TrainingSettings(
    int Scale,
    int Epochs,
    int PatchesPerImage,
    int BatchSize,
    int PatchSize,
    double LearningRate,
    SrLearningRateSchedule Schedule,
    SrLoss Loss,
    int Seed,
    int LogEveryNSteps,
    Device Device,
    int? InjectNonFiniteGradientAtStep = null)
{
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>The network's name in messages (the architecture, e.g. EdsrBaseline, rather than the class that builds it); null = the class name.</summary>
    public string? NetworkName { get; init; }

    public double AdamBeta2 { get; init; } = 0.999;

    public double CosineFloor { get; init; } = 0.01;

    public int StepSize { get; init; } = 200;

    public IReadOnlyList<int> Milestones { get; init; } = Array.Empty<int>();

    public double Gamma { get; init; } = 0.5;

    public int WarmupSteps { get; init; }

    public double? GradientClipNorm { get; init; }

    public double? EmaDecay { get; init; }

    /// <summary>Where checkpoints go (and a run resumes from); null = none.</summary>
    public string? CheckpointDirectory { get; init; }

    public int CheckpointEveryNEpochs { get; init; } = 1;

    /// <summary>Stop cleanly after the step that exceeds this wall-clock time (of this call); null = no limit.</summary>
    public TimeSpan? MaxTrainingTime { get; init; }

    /// <summary>Mean validation PSNR of the network as it is (called in eval mode); null = no validation.</summary>
    public Func<SrNetwork, double>? Validate { get; init; }

    public int ValidationEveryNEpochs { get; init; } = 1;

    public bool KeepBestWeights { get; init; }

    public int? EarlyStoppingPatience { get; init; }

    /// <summary>Weight of the pixel loss (<see cref="Loss"/>) in the generator's loss; 0 leaves only the perceptual loss.</summary>
    public double PixelLossWeight { get; init; } = 1;

    /// <summary>The VGG54 perceptual loss and its weight (owned by the caller); null = none.</summary>
    public PerceptualLossSettings? Perceptual { get; init; }

    /// <summary>SRGAN adversarial training (the discriminator is owned by the caller); null = none.</summary>
    public AdversarialSettings? Adversarial { get; init; }

    /// <summary>Test hook: a step at which to poison one discriminator gradient with NaN (adversarial training).</summary>
    public int? InjectNonFiniteDiscriminatorGradientAtStep { get; init; }
}

/// <summary>The perceptual content loss: <paramref name="Weight"/> x <see cref="PerceptualLoss.Loss"/>.</summary>
internal sealed record PerceptualLossSettings(PerceptualLoss Loss, double Weight);

/// <summary>
/// SRGAN adversarial training: the generator's loss adds <paramref name="Weight"/> x BCE(D(G(LR)), real), and the
/// discriminator is trained with its own Adam at <paramref name="LearningRate"/> (scaled by the generator's schedule).
/// </summary>
/// <param name="Discriminator">Its patch size must be the training HR patch size.</param>
/// <param name="Weight">The adversarial loss weight (SRGAN: 1e-3).</param>
/// <param name="LearningRate">The discriminator's base learning rate.</param>
internal sealed record AdversarialSettings(SrganDiscriminator Discriminator, double Weight, double LearningRate);

/// <summary>Where the trainer reports; the ML.NET side implements it with a channel and the host's cancellation.</summary>
internal interface ITrainingMonitor
{
    /// <summary>Throws when the user cancelled (ML.NET's CheckAlive).</summary>
    void CheckAlive();

    void Info(string message);

    void Warning(string message);

    /// <summary>Called after every step.</summary>
    void Progress(int epoch, int step, int totalSteps, double loss);

    /// <summary>Called after every validation with its mean PSNR.</summary>
    void Validated(int epoch, double psnr)
    {
    }
}
