using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// A short job so that the whole suite runs in reasonable time on 2 cores: each invocation is long (tens of
/// milliseconds to seconds), so one invocation per iteration, 2 warm-up and 10 measured iterations. In process
/// (no generated project to build, so it runs from any folder); torch uses <see cref="Threads"/> threads.
/// </summary>
public sealed class ShortJobConfig : ManualConfig
{
    /// <summary>Torch intra-op threads (the development machine has 2 cores).</summary>
    public const int Threads = 2;

    /// <summary>
    /// The job: monitoring, 1 launch, 2 warm-ups, 10 iterations of one invocation each; with the environment variable
    /// <c>SR_BENCH_SMOKE=1</c>, no warm-up and 1 iteration (to check that the suite runs, not to measure).
    /// </summary>
    public ShortJobConfig()
    {
        bool smoke = Environment.GetEnvironmentVariable("SR_BENCH_SMOKE") == "1";
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(smoke ? 0 : 2)
            .WithIterationCount(smoke ? 1 : 10)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithToolchain(InProcessEmitToolchain.Instance));
    }

    /// <summary>Sets torch's thread count in the benchmark process; call from each [GlobalSetup].</summary>
    public static void ApplyThreads() => torch.set_num_threads(Threads);
}
