using System.Diagnostics;
using MLNet.SuperResolution.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// The training loop: random aligned LR/HR patches with flips and 90-degree rotations, Adam, L1/L2/Charbonnier loss,
/// a learning-rate schedule with optional warm-up, optional gradient clipping and weight averaging, a fixed number of
/// epochs. Steps whose loss or gradients are not finite are skipped and counted. No ML.NET types here.
/// </summary>
internal static class SrTrainer
{
    public static SrTrainingSummary Train(SrNetwork network, IReadOnlyList<TrainingPair> data, TrainingSettings settings, ITrainingMonitor monitor)
    {
        if (data.Count == 0)
            throw new InvalidOperationException("No training images: the training data has no rows.");

        int scale = settings.Scale;
        int lowPatch = Math.Max(1, settings.PatchSize / scale);
        int smallest = data.Min(p => (int)Math.Min(p.LowRes.shape[1], p.LowRes.shape[2]));
        if (smallest < lowPatch)
        {
            monitor.Info($"Patch size reduced from {lowPatch * scale} to {smallest * scale} HR pixels: the smallest training image is {smallest} LR pixels across.");
            lowPatch = smallest;
        }

        int stepsPerEpoch = Math.Max(1, (int)Math.Ceiling(data.Count * (double)settings.PatchesPerImage / settings.BatchSize));
        int totalSteps = stepsPerEpoch * settings.Epochs;
        var schedule = new LearningRateSchedule(settings.Schedule, settings.LearningRate, totalSteps, stepsPerEpoch,
            settings.StepSize, settings.Milestones, settings.Gamma, settings.CosineFloor, settings.WarmupSteps);
        network.to(settings.Device).train();
        var parameters = network.parameters().Where(p => p.requires_grad).ToArray();
        using var optimizer = optim.Adam(parameters, settings.LearningRate, settings.AdamBeta1, settings.AdamBeta2);
        using var average = settings.EmaDecay is { } decay ? new WeightAverage(network, decay) : null;

        monitor.Info($"Training {network.GetType().Name} x{scale}: {data.Count} images, {settings.Epochs} epochs x {stepsPerEpoch} steps, " +
                     $"batch {settings.BatchSize}, HR patch {lowPatch * scale}, {settings.Loss} loss, lr {settings.LearningRate} ({settings.Schedule}), device {settings.Device}.");

        var clock = Stopwatch.StartNew();
        var epochLosses = new List<double>();
        int step = 0, skipped = 0;
        double runningLoss = 0;
        int runningCount = 0;
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            double epochSum = 0;
            int epochFinite = 0;
            for (int i = 0; i < stepsPerEpoch; i++)
            {
                monitor.CheckAlive();
                step++;
                using var scope = NewDisposeScope();
                var (lowRes, highRes) = SampleBatch(data, settings.BatchSize, lowPatch, scale, StepRandom(settings.Seed, step), settings.Device);
                optimizer.zero_grad();
                var loss = network.TrainingLoss(lowRes, highRes, Criterion(settings.Loss));
                loss.backward();
                if (settings.InjectNonFiniteGradientAtStep == step)
                    parameters[0].grad!.fill_(double.NaN);

                double lossValue = loss.item<float>();
                if (!double.IsFinite(lossValue) || !GradientsAreFinite(parameters))
                {
                    skipped++;
                    optimizer.zero_grad();
                    monitor.Warning($"Step {step}: non-finite loss or gradient (loss {lossValue}); step skipped, weights unchanged ({skipped} skipped so far).");
                    continue;
                }

                if (settings.GradientClipNorm is { } maxNorm)
                    ClipGradients(parameters, maxNorm);
                SetLearningRate(optimizer, schedule.At(step - 1));
                optimizer.step();
                average?.Update();
                epochSum += lossValue;
                epochFinite++;
                runningLoss += lossValue;
                runningCount++;
                monitor.Progress(epoch, step, totalSteps, lossValue);
                if (settings.LogEveryNSteps > 0 && (step % settings.LogEveryNSteps == 0 || step == totalSteps))
                {
                    var elapsed = clock.Elapsed;
                    var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / step * (totalSteps - step));
                    monitor.Info($"Epoch {epoch}/{settings.Epochs} step {step}/{totalSteps}: Loss: {runningLoss / runningCount:F5} " +
                                 $"({settings.BatchSize * step / elapsed.TotalSeconds:F1} patches/s, ETA {eta:mm\\:ss})");
                    runningLoss = 0;
                    runningCount = 0;
                }
            }

            epochLosses.Add(epochFinite > 0 ? epochSum / epochFinite : double.NaN);
        }

        if (average is not null)
            WeightAverage.Restore(network, average.Average);
        network.eval();
        if (skipped > 0)
            monitor.Warning($"{skipped} of {step} steps were skipped because of non-finite losses or gradients.");
        monitor.Info($"Training done in {clock.Elapsed.TotalSeconds:F1} s; final epoch loss {epochLosses[^1]:F5}.");
        return new SrTrainingSummary(step, skipped, epochLosses, clock.Elapsed, lowPatch * scale);
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

    private static void SetLearningRate(optim.Optimizer optimizer, double rate)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = rate;
    }

    /// <summary>The element loss: a scalar mean over the batch.</summary>
    internal static Func<Tensor, Tensor, Tensor> Criterion(SrLoss loss) => loss switch
    {
        SrLoss.L1 => (output, target) => nn.functional.l1_loss(output, target),
        SrLoss.L2 => (output, target) => nn.functional.mse_loss(output, target),
        SrLoss.Charbonnier => (output, target) => output.sub(target).square().add(1e-6).sqrt().mean(),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss."),
    };

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
}
