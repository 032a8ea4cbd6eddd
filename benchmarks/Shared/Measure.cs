using System.Diagnostics;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>Timing and the measured operations, shared by TorchCompare and the BenchmarkDotNet project.</summary>
internal static class Measure
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then <paramref name="repetitions"/> times; milliseconds per run.</summary>
    public static double[] Time(Action action, int warmup, int repetitions)
    {
        for (int i = 0; i < warmup; i++)
            action();
        var result = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            result[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return result;
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            throw new ArgumentException("No values.", nameof(values));
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>One inference forward pass (no gradients; the network should be in eval mode), the output disposed.</summary>
    public static void Forward(SrNetwork network, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        network.forward(input);
    }

    /// <summary>Waits for the work queued on <paramref name="device"/> (CUDA kernels run asynchronously); nothing on the CPU.</summary>
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
            cuda.synchronize(device);
    }

    /// <summary>A uniform [0, 1) float32 tensor of <paramref name="shape"/> from a generator seeded with <paramref name="seed"/>.</summary>
    public static Tensor Random(long seed, params long[] shape)
    {
        using var generator = new Generator((ulong)seed);
        return rand(shape, dtype: float32, generator: generator);
    }
}

/// <summary>
/// One training step as the trainer takes it (the trainer's <see cref="MultiTensor.Adam"/>, L1 loss through
/// <see cref="SrNetwork.TrainingLoss"/>, on the CPU inside <see cref="NativeHeap.EnterTraining"/> from construction to
/// disposal): zero the gradients, loss, backward, step. The network is put in train mode.
/// </summary>
internal sealed class TrainStep : IDisposable
{
    private readonly SrNetwork _network;
    private readonly optim.Optimizer _adam;
    private readonly IDisposable? _heap;

    /// <summary>
    /// Adam (betas 0.9, 0.999, as PyTorch's default) with learning rate <paramref name="learningRate"/> over the network's
    /// trainable parameters: the trainer's <see cref="MultiTensor.Adam"/>, or TorchSharp's when <paramref name="torchSharpAdam"/>.
    /// </summary>
    public TrainStep(SrNetwork network, double learningRate = 1e-4, bool torchSharpAdam = false)
    {
        _network = network;
        _network.train();
        var trainable = network.parameters().Where(p => p.requires_grad);
        _adam = torchSharpAdam
            ? new TorchSharp.Modules.Adam(trainable, learningRate, 0.9, 0.999)
            : new MultiTensor.Adam(trainable, learningRate, 0.9, 0.999);
        _heap = NativeHeap.EnterTraining(network.parameters().First().device_type); // as SrTrainer: freed activations stay in the heap while training
    }

    /// <summary>The optimiser (tests and checks read its step counts).</summary>
    public optim.Optimizer Optimizer => _adam;

    /// <summary>One step on a batch; returns the loss before the update.</summary>
    public float Run(Tensor lowRes, Tensor highRes)
    {
        using var scope = NewDisposeScope();
        _adam.zero_grad();
        var loss = _network.TrainingLoss(lowRes, highRes, (output, target) => nn.functional.l1_loss(output, target));
        loss.backward();
        _adam.step();
        return loss.item<float>();
    }

    public void Dispose()
    {
        _adam.Dispose();
        _heap?.Dispose();
    }
}
