using System.Diagnostics;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// The training loop: random aligned LR/HR patches with flips and 90-degree rotations, Adam, L1/L2/Charbonnier loss
/// (optionally weighted and joined by the VGG54 perceptual loss), a learning-rate schedule with optional warm-up,
/// optional gradient clipping and weight averaging, a fixed number of epochs, resumable checkpoints, and optionally
/// SRGAN's adversarial training against a discriminator with its own Adam. Steps whose losses or gradients are not
/// finite are skipped and counted. No ML.NET types here.
/// </summary>
internal static class SrTrainer
{
    /// <summary>The checkpoint's file name inside <see cref="TrainingSettings.CheckpointDirectory"/>.</summary>
    public const string CheckpointFileName = "training.srcheckpoint";

    public static SrTrainingSummary Train(SrNetwork network, IReadOnlyList<TrainingPair> data, TrainingSettings settings, ITrainingMonitor monitor)
    {
        if (data.Count == 0)
            throw new InvalidOperationException("No training images: the training data has no rows.");

        int scale = settings.Scale;
        int lowPatch = LowResPatchSize(data, settings.PatchSize, scale);
        if (lowPatch < Math.Max(1, settings.PatchSize / scale))
            monitor.Info($"Patch size reduced from {settings.PatchSize / scale * scale} to {lowPatch * scale} HR pixels: the smallest training image is {lowPatch} LR pixels across.");
        if (settings.Adversarial is { } gan && gan.Discriminator.PatchSize != lowPatch * scale)
            throw new InvalidOperationException(
                $"The SRGAN discriminator was built for {gan.Discriminator.PatchSize}-pixel patches but the training patches are {lowPatch * scale} HR pixels; " +
                "build it for the patch size that SrTrainer.LowResPatchSize gives.");

        int stepsPerEpoch = Math.Max(1, (int)Math.Ceiling(data.Count * (double)settings.PatchesPerImage / settings.BatchSize));
        int totalSteps = stepsPerEpoch * settings.Epochs;
        var schedule = new LearningRateSchedule(settings.Schedule, settings.LearningRate, totalSteps, stepsPerEpoch,
            settings.StepSize, settings.Milestones, settings.Gamma, settings.CosineFloor, settings.WarmupSteps);
        network.to(settings.Device).train();
        // On the CPU, the activations each step frees stay in the C heap for the next step (NativeHeap.EnterTraining).
        using var heap = Inference.NativeHeap.EnterTraining(settings.Device.type);
        var parameters = network.parameters().Where(p => p.requires_grad).ToArray();
        using var optimizer = CreateOptimizer(network, settings, out double[] rateScales);
        using var discriminator = settings.Adversarial is { } adversarial ? new DiscriminatorTraining(adversarial, settings) : null;
        settings.Perceptual?.Loss.To(settings.Device);
        using var average = settings.EmaDecay is { } decay ? new WeightAverage(network, decay) : null;
        using var state = new TrainingState();
        string? checkpoint = settings.CheckpointDirectory is { } directory ? Path.Combine(directory, CheckpointFileName) : null;
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            TrainingCheckpoint.Load(checkpoint, network, optimizer, average, state, discriminator?.Module, discriminator?.Optimizer);
            monitor.Info($"Resumed from {checkpoint} at step {state.Step} (epoch {state.EpochLosses.Count} done).");
        }

        if (network.LearningRateScales.Count > 0)
            monitor.Info($"{network.GetType().Name}'s reference recipe trains some layers at another rate: " +
                         string.Join(", ", network.LearningRateScales.Select(r => $"{r.Prefix}* at {r.Scale}x")) + " the learning rate.");
        monitor.Info($"Training {settings.NetworkName ?? network.GetType().Name} x{scale}: {data.Count} images, {settings.Epochs} epochs x {stepsPerEpoch} steps, " +
                     $"batch {settings.BatchSize}, HR patch {lowPatch * scale}, {DescribeLoss(settings)}, lr {settings.LearningRate} ({settings.Schedule}), device {settings.Device}.");

        var clock = Stopwatch.StartNew();
        int firstStep = state.Step;
        double earlierSeconds = state.Seconds;
        double runningLoss = 0;
        int runningCount = 0;
        var runningGan = new AdversarialLosses();
        var criterion = ContentCriterion(settings);
        if (settings.EarlyStoppingPatience is { } patience && state.ValidationsSinceBest >= patience)
            state.StopReason = SrStopReason.EarlyStopping; // a resumed run that had already stopped early
        while (state.StopReason == SrStopReason.Completed && state.Step < totalSteps)
        {
            monitor.CheckAlive();
            int step = ++state.Step;
            int epoch = (step - 1) / stepsPerEpoch + 1;
            double learningRate = schedule.At(step - 1);
            AdversarialLosses ganLosses = default;
            bool applied = discriminator is null
                ? TrainStep(network, parameters, optimizer, rateScales, criterion, data, settings, lowPatch, step, learningRate, out double lossValue)
                : AdversarialStep(network, parameters, optimizer, rateScales, criterion, discriminator, data, settings, lowPatch, step, learningRate, out lossValue, out ganLosses);
            if (!applied)
            {
                state.Skipped++;
                monitor.Warning(discriminator is null
                    ? $"Step {step}: non-finite loss or gradient (loss {lossValue}); step skipped, weights unchanged ({state.Skipped} skipped so far)."
                    : $"Step {step}: non-finite loss or gradient (generator loss {lossValue}, discriminator loss {ganLosses.Discriminator}); step skipped, " +
                      $"neither the generator nor the discriminator changed ({state.Skipped} skipped so far).");
            }
            else
            {
                average?.Update();
                state.EpochSum += lossValue;
                state.EpochFinite++;
                runningLoss += lossValue;
                runningGan = runningGan.Add(ganLosses);
                runningCount++;
                monitor.Progress(epoch, step, totalSteps, lossValue);
                if (settings.LogEveryNSteps > 0 && (step % settings.LogEveryNSteps == 0 || step == totalSteps))
                {
                    var elapsed = clock.Elapsed;
                    int done = step - firstStep;
                    var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / done * (totalSteps - step));
                    string ganText = discriminator is null ? string.Empty : " " + runningGan.Describe(runningCount, discriminator.Weight);
                    monitor.Info($"Epoch {epoch}/{settings.Epochs} step {step}/{totalSteps}: Loss: {runningLoss / runningCount:F5}{ganText} " +
                                 $"({settings.BatchSize * done / elapsed.TotalSeconds:F1} patches/s, ETA {(int)eta.TotalHours}:{eta:mm\\:ss})");
                    runningLoss = 0;
                    runningGan = default;
                    runningCount = 0;
                }
            }

            bool epochEnd = step % stepsPerEpoch == 0;
            if (epochEnd)
            {
                state.EpochLosses.Add(state.EpochFinite > 0 ? state.EpochSum / state.EpochFinite : double.NaN);
                state.EpochSum = 0;
                state.EpochFinite = 0;
            }

            if (settings.MaxTrainingTime is { } budget && clock.Elapsed >= budget && state.Step < totalSteps)
            {
                state.StopReason = SrStopReason.TimeLimit;
                monitor.Info($"Training time limit {budget} reached at step {step}/{totalSteps} (epoch {epoch}); stopping.");
            }

            if (settings.Validate is not null &&
                ((epochEnd && (epoch % settings.ValidationEveryNEpochs == 0 || step >= totalSteps)) || state.StopReason == SrStopReason.TimeLimit))
                Validate(network, average, settings, state, epoch, totalSteps, monitor);

            bool last = state.Step >= totalSteps || state.StopReason != SrStopReason.Completed;
            if (checkpoint is not null && (last || (epochEnd && epoch % settings.CheckpointEveryNEpochs == 0)))
            {
                state.Seconds = earlierSeconds + clock.Elapsed.TotalSeconds;
                TrainingCheckpoint.Save(checkpoint, network, optimizer, average, state, discriminator?.Module, discriminator?.Optimizer);
                monitor.Info($"Checkpoint written at step {step} (epoch {epoch}): {checkpoint}.");
            }
        }

        if (settings.KeepBestWeights && state.BestWeights is not null)
        {
            WeightAverage.Restore(network, state.BestWeights);
            monitor.Info($"Kept the weights of the best validation: PSNR {state.Best!.Psnr:F3} dB after epoch {state.Best.Epoch}.");
        }
        else if (average is not null)
        {
            WeightAverage.Restore(network, average.Average);
        }

        network.eval();
        state.Seconds = earlierSeconds + clock.Elapsed.TotalSeconds;
        if (state.Skipped > 0)
            monitor.Warning($"{state.Skipped} of {state.Step} steps were skipped because of non-finite losses or gradients.");
        var losses = state.EpochLosses.ToList();
        if (state.EpochFinite > 0)
            losses.Add(state.EpochSum / state.EpochFinite); // a partial last epoch (time limit)
        monitor.Info($"Training done in {state.Seconds:F1} s; final epoch loss {(losses.Count > 0 ? losses[^1] : double.NaN):F5}.");
        return new SrTrainingSummary(state.Step, state.Skipped, losses, TimeSpan.FromSeconds(state.Seconds), lowPatch * scale, state.StopReason, state.Validations.ToList());
    }

    /// <summary>
    /// Validates the model's weights (the average when there is one), records the result, keeps the best weights when
    /// asked, and decides early stopping.
    /// </summary>
    private static void Validate(SrNetwork network, WeightAverage? average, TrainingSettings settings, TrainingState state, int epoch, int totalSteps, ITrainingMonitor monitor)
    {
        Tensor[]? live = null;
        if (average is not null)
        {
            live = WeightAverage.Snapshot(network);
            WeightAverage.Restore(network, average.Average);
        }

        network.eval();
        double psnr = settings.Validate!(network);
        var previousBest = state.Best;
        var result = new SrValidationResult(epoch, state.Step, psnr);
        state.Validations.Add(result);
        if (previousBest is null || psnr > previousBest.Psnr)
        {
            state.ValidationsSinceBest = 0;
            if (settings.KeepBestWeights)
            {
                foreach (var tensor in state.BestWeights ?? Array.Empty<Tensor>())
                    tensor.Dispose();
                state.BestWeights = WeightAverage.Snapshot(network);
            }
        }
        else
        {
            state.ValidationsSinceBest++;
        }

        if (live is not null)
        {
            WeightAverage.Restore(network, live);
            foreach (var tensor in live)
                tensor.Dispose();
        }

        network.train();
        monitor.Validated(epoch, psnr);
        var best = state.Best!;
        monitor.Info($"Epoch {epoch} step {state.Step}: validation PSNR: {psnr:F3} dB (best {best.Psnr:F3} dB after epoch {best.Epoch}).");
        if (settings.EarlyStoppingPatience is { } patience && state.ValidationsSinceBest >= patience && state.Step < totalSteps
            && state.StopReason == SrStopReason.Completed)
        {
            state.StopReason = SrStopReason.EarlyStopping;
            monitor.Info($"Early stopping after epoch {epoch}: no validation improvement in {patience} validations (best {best.Psnr:F3} dB after epoch {best.Epoch}).");
        }
    }

    /// <summary>One optimisation step; false (weights unchanged) when the loss or a gradient is not finite.</summary>
    private static bool TrainStep(SrNetwork network, Parameter[] parameters, optim.Optimizer optimizer, double[] rateScales, Func<Tensor, Tensor, Tensor> criterion,
        IReadOnlyList<TrainingPair> data, TrainingSettings settings, int lowPatch, int step, double learningRate, out double lossValue)
    {
        using var scope = NewDisposeScope();
        var (lowRes, highRes) = SampleBatch(data, settings.BatchSize, lowPatch, settings.Scale, StepRandom(settings.Seed, step), settings.Device);
        optimizer.zero_grad();
        var loss = network.TrainingLoss(lowRes, highRes, criterion);
        loss.backward();
        if (settings.InjectNonFiniteGradientAtStep == step)
        {
            using var nan = double.NaN.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            parameters[0].grad!.fill_(nan);
        }

        lossValue = loss.item<float>();
        if (!double.IsFinite(lossValue) || !GradientsAreFinite(parameters))
        {
            optimizer.zero_grad();
            return false;
        }

        if (settings.GradientClipNorm is { } maxNorm)
            ClipGradients(parameters, maxNorm);
        SetLearningRate(optimizer, learningRate, rateScales);
        optimizer.step();
        return true;
    }

    /// <summary>
    /// One SRGAN step, in the order of BasicSR's SRGANModel: the generator's gradient of content + weight x adversarial
    /// loss against the discriminator as it is (its weights frozen), then the discriminator's gradient of BCE on the real
    /// HR patches (label 1) plus BCE on this step's generator output, detached (label 0). Both gradients are computed
    /// before either network changes, so a non-finite loss or gradient in either skips the whole step (false, neither
    /// changed; batch-normalisation running statistics still saw the batch, as in any skipped step). Clipping applies to
    /// each network's gradients separately; the discriminator's learning rate follows the generator's schedule.
    /// </summary>
    private static bool AdversarialStep(SrNetwork network, Parameter[] parameters, optim.Optimizer optimizer, double[] rateScales, Func<Tensor, Tensor, Tensor> criterion,
        DiscriminatorTraining discriminator, IReadOnlyList<TrainingPair> data, TrainingSettings settings, int lowPatch, int step, double learningRate,
        out double lossValue, out AdversarialLosses losses)
    {
        using var scope = NewDisposeScope();
        var (lowRes, highRes) = SampleBatch(data, settings.BatchSize, lowPatch, settings.Scale, StepRandom(settings.Seed, step), settings.Device);
        optimizer.zero_grad();
        discriminator.Optimizer.zero_grad();

        var output = network.forward(lowRes);
        var content = criterion(output, highRes);
        Tensor fakeForGenerator;
        discriminator.SetRequiresGrad(false);
        try
        {
            fakeForGenerator = discriminator.Module.forward(output);
        }
        finally
        {
            discriminator.SetRequiresGrad(true);
        }

        var adversarial = BinaryCrossEntropy(fakeForGenerator, real: true);
        using var adversarialWeight = discriminator.Weight.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        var generatorLoss = content.Plus(adversarial.mul(adversarialWeight));
        generatorLoss.backward();

        var realLogits = discriminator.Module.forward(highRes);
        var fakeLogits = discriminator.Module.forward(output.detach());
        var discriminatorLoss = BinaryCrossEntropy(realLogits, real: true).Plus(BinaryCrossEntropy(fakeLogits, real: false));
        discriminatorLoss.backward();
        using var nan = double.NaN.ToScalar();
        if (settings.InjectNonFiniteGradientAtStep == step)
            parameters[0].grad!.fill_(nan);
        if (settings.InjectNonFiniteDiscriminatorGradientAtStep == step)
            discriminator.Parameters[0].grad!.fill_(nan);

        lossValue = generatorLoss.item<float>();
        losses = new AdversarialLosses(content.item<float>(), adversarial.item<float>(), discriminatorLoss.item<float>(),
            realLogits.detach().sigmoid().mean().item<float>(), fakeLogits.detach().sigmoid().mean().item<float>());
        if (!double.IsFinite(lossValue) || !double.IsFinite(losses.Discriminator) || !GradientsAreFinite(parameters) || !GradientsAreFinite(discriminator.Parameters))
        {
            optimizer.zero_grad();
            discriminator.Optimizer.zero_grad();
            return false;
        }

        if (settings.GradientClipNorm is { } maxNorm)
        {
            ClipGradients(parameters, maxNorm);
            ClipGradients(discriminator.Parameters, maxNorm);
        }

        SetLearningRate(optimizer, learningRate, rateScales);
        SetLearningRate(discriminator.Optimizer, learningRate * discriminator.LearningRateRatio);
        optimizer.step();
        discriminator.Optimizer.step();
        return true;
    }

    /// <summary>Binary cross-entropy of logits against the label "real" (1) or "generated" (0), averaged over the batch.</summary>
    private static Tensor BinaryCrossEntropy(Tensor logits, bool real)
        => nn.functional.binary_cross_entropy_with_logits(logits, real ? ones_like(logits) : zeros_like(logits));

    /// <summary>
    /// The HR patch side the trainer uses, in LR pixels: <paramref name="patchSize"/> / <paramref name="scale"/>, at
    /// least 1, reduced to the smallest training image's shorter side when that is smaller.
    /// </summary>
    internal static int LowResPatchSize(IReadOnlyList<TrainingPair> data, int patchSize, int scale)
    {
        int lowPatch = Math.Max(1, patchSize / scale);
        int smallest = data.Count == 0 ? lowPatch : data.Min(p => (int)Math.Min(p.LowRes.shape[1], p.LowRes.shape[2]));
        return Math.Min(lowPatch, smallest);
    }

    /// <summary>The generator's content loss: <c>PixelLossWeight</c> x the pixel loss, plus the weighted perceptual loss when there is one.</summary>
    internal static Func<Tensor, Tensor, Tensor> ContentCriterion(TrainingSettings settings)
    {
        var pixel = Criterion(settings.Loss);
        double pixelWeight = settings.PixelLossWeight;
        if (settings.Perceptual is not { } perceptual)
        {
            return pixelWeight == 1 ? pixel : (output, target) =>
            {
                using var weight = pixelWeight.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
                return pixel(output, target).mul(weight);
            };
        }

        return (output, target) =>
        {
            using var vggWeight = perceptual.Weight.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
            using var weight = pixelWeight.ToScalar();
            var vgg = perceptual.Loss.Loss(output, target).mul(vggWeight);
            return pixelWeight == 0 ? vgg : pixel(output, target).mul(weight).Plus(vgg);
        };
    }

    /// <summary>The loss for the start-of-training log line.</summary>
    private static string DescribeLoss(TrainingSettings settings)
    {
        var terms = new List<string>();
        if (settings.PixelLossWeight > 0)
            terms.Add(settings.PixelLossWeight == 1 ? $"{settings.Loss}" : $"{settings.PixelLossWeight} x {settings.Loss}");
        if (settings.Perceptual is { } perceptual)
            terms.Add($"{perceptual.Weight} x VGG54");
        if (settings.Adversarial is { } adversarial)
            terms.Add($"{adversarial.Weight} x adversarial (SRGAN discriminator, width {adversarial.Discriminator.Width}, " +
                      $"{adversarial.Discriminator.PatchSize}-pixel patches, lr {adversarial.LearningRate})");
        return string.Join(" + ", terms) + " loss";
    }

    /// <summary>
    /// The sampling generator of one step, derived from (seed, step) alone so that a resumed run draws the same patches
    /// as an uninterrupted one (SplitMix64 of the pair).
    /// </summary>
    internal static Random StepRandom(int seed, int step)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)step) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFFFFFF));
    }

    /// <summary>Scales the gradients so that their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    internal static double ClipGradients(IEnumerable<Parameter> parameters, double maxNorm)
        => nn.utils.clip_grad_norm_(parameters, maxNorm);

    /// <summary>Sets every parameter group's rate: <paramref name="rate"/> times the group's scale (1 when none are given).</summary>
    private static void SetLearningRate(optim.Optimizer optimizer, double rate, double[]? scales = null)
    {
        int i = 0;
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = rate * (scales is null ? 1.0 : scales[i++]);
    }

    /// <summary>
    /// Adam over the network's trainable parameters: one group, or one group per learning-rate scale when the network's
    /// reference recipe trains some layers at another rate (<see cref="SrNetwork.LearningRateScales"/>, such as FSRCNN's
    /// tail at a tenth); <paramref name="scales"/> gets each group's scale, in the optimiser's group order.
    /// </summary>
    internal static Adam CreateOptimizer(SrNetwork network, TrainingSettings settings, out double[] scales)
    {
        var trainable = network.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        double ScaleOf(string name)
        {
            foreach (var (prefix, scale) in network.LearningRateScales)
            {
                if (name.StartsWith(prefix, StringComparison.Ordinal))
                    return scale;
            }

            return 1.0;
        }

        var groups = trainable.GroupBy(p => ScaleOf(p.name)).ToArray();
        scales = groups.Select(g => g.Key).ToArray();
        if (groups.Length == 1 && scales[0] == 1.0)
            return new MultiTensor.Adam(trainable.Select(p => p.parameter), settings.LearningRate, settings.AdamBeta1, settings.AdamBeta2);
        return new MultiTensor.Adam(groups.Select(g => new Adam.ParamGroup(g.Select(p => p.parameter), settings.LearningRate * g.Key,
            settings.AdamBeta1, settings.AdamBeta2, 1e-8, 0, false, false)), settings.LearningRate, settings.AdamBeta1, settings.AdamBeta2);
    }

    /// <summary>The element loss: a scalar mean over the batch.</summary>
    internal static Func<Tensor, Tensor, Tensor> Criterion(SrLoss loss) => loss switch
    {
        SrLoss.L1 => (output, target) => nn.functional.l1_loss(output, target),
        SrLoss.L2 => (output, target) => nn.functional.mse_loss(output, target),
        SrLoss.Charbonnier => Charbonnier,
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
    };

    /// <summary>Charbonnier: mean of sqrt((x - y)^2 + 1e-6).</summary>
    private static Tensor Charbonnier(Tensor output, Tensor target)
    {
        using var epsilon = (1e-6).ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        return output.sub(target).square().Plus(epsilon).sqrt().mean();
    }

    /// <summary>
    /// Draws aligned random patches; each gets one of the 8 flips/rotations of the square (an exact bijection on
    /// pixels, applied to LR and HR alike).
    /// </summary>
    private static (Tensor LowRes, Tensor HighRes) SampleBatch(
        IReadOnlyList<TrainingPair> data, int batchSize, int lowPatch, int scale, Random random, Device device)
    {
        var lows = new Tensor[batchSize];
        var highs = new Tensor[batchSize];
        for (int b = 0; b < batchSize; b++)
        {
            var pair = data[random.Next(data.Count)];
            int height = (int)pair.LowRes.shape[1], width = (int)pair.LowRes.shape[2];
            int y = random.Next(height - lowPatch + 1), x = random.Next(width - lowPatch + 1);
            int transform = random.Next(8);
            lows[b] = Augment(pair.LowRes.narrow(1, y, lowPatch).narrow(2, x, lowPatch), transform);
            highs[b] = Augment(pair.HighRes.narrow(1, y * scale, lowPatch * scale).narrow(2, x * scale, lowPatch * scale), transform);
        }

        return (stack(lows).to(device), stack(highs).to(device));
    }

    /// <summary>Applies one of the 8 symmetries of the square to a [C, H, W] patch: bit 0 flips W, bit 1 flips H, bit 2 transposes.</summary>
    internal static Tensor Augment(Tensor patch, int transform)
    {
        var result = patch;
        if ((transform & 1) != 0) result = result.flip(2);
        if ((transform & 2) != 0) result = result.flip(1);
        if ((transform & 4) != 0) result = result.transpose(1, 2);
        return result;
    }

    private static bool GradientsAreFinite(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var norms = parameters.Where(p => p.grad is not null).Select(p => p.grad!.abs().sum()).ToArray();
        return norms.Length == 0 || double.IsFinite(stack(norms).sum().item<float>());
    }

    /// <summary>The discriminator with its parameters and its own Adam (disposes only the optimiser; the caller owns the module).</summary>
    private sealed class DiscriminatorTraining : IDisposable
    {
        public DiscriminatorTraining(AdversarialSettings settings, TrainingSettings training)
        {
            Module = settings.Discriminator;
            Weight = settings.Weight;
            LearningRateRatio = settings.LearningRate / training.LearningRate;
            Module.to(training.Device).train();
            Parameters = Module.parameters().ToArray();
            Optimizer = new MultiTensor.Adam(Parameters, settings.LearningRate, training.AdamBeta1, training.AdamBeta2);
        }

        public SrganDiscriminator Module { get; }

        public Parameter[] Parameters { get; }

        public Adam Optimizer { get; }

        /// <summary>The adversarial loss weight in the generator's loss.</summary>
        public double Weight { get; }

        /// <summary>The discriminator's learning rate over the generator's (the schedule scales both).</summary>
        public double LearningRateRatio { get; }

        /// <summary>Freezes (false) or unfreezes (true) the discriminator's weights.</summary>
        public void SetRequiresGrad(bool value)
        {
            foreach (var parameter in Parameters)
                parameter.requires_grad = value;
        }

        public void Dispose() => Optimizer.Dispose();
    }

    /// <summary>The adversarial terms of one step (or sums of them over logged steps).</summary>
    private readonly record struct AdversarialLosses(double Content, double Adversarial, double Discriminator, double RealProbability, double FakeProbability)
    {
        public AdversarialLosses Add(AdversarialLosses other)
            => new(Content + other.Content, Adversarial + other.Adversarial, Discriminator + other.Discriminator,
                RealProbability + other.RealProbability, FakeProbability + other.FakeProbability);

        /// <summary>The means over <paramref name="count"/> steps as the log shows them.</summary>
        public string Describe(int count, double weight)
            => $"(G: content {Content / count:F5} + {weight} x adversarial {Adversarial / count:F5}; D: {Discriminator / count:F5}, " +
               $"D(real) {RealProbability / count:F3}, D(fake) {FakeProbability / count:F3})";
    }
}
