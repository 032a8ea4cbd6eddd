using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Training;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// <see cref="NativeHeap.EnterTraining"/>: while a CPU training loop runs, glibc keeps the activations a step frees
/// (mmap threshold 32 MB, trim threshold 1 GB); the last loop to end puts the trim threshold back to 64 MB and trims
/// once. The C library is watched through the delegates <see cref="TrainingHeap"/> takes.
/// </summary>
public sealed class TrainingHeapTests
{
    private sealed class FakeLibc
    {
        public readonly List<string> Calls = [];
        public readonly Dictionary<string, string> Environment = [];
        public bool ReusePreferred;

        public TrainingHeap Heap(bool hasMallopt = true) => new(
            hasMallopt ? (parameter, value) => { Calls.Add($"mallopt({parameter}, {value})"); return true; } : null,
            () => Calls.Add("malloc_trim(0)"),
            name => Environment.TryGetValue(name, out var value) ? value : null,
            () => ReusePreferred);
    }

    private static readonly string[] Apply =
        [$"mallopt({NativeHeap.MMmapThreshold}, {32 << 20})", $"mallopt({NativeHeap.MTrimThreshold}, {1 << 30})"];

    private static readonly string[] Restore = [$"mallopt({NativeHeap.MTrimThreshold}, {64 << 20})", "malloc_trim(0)"];

    [Fact]
    public void TheFirstLoopSetsTheThresholds_NestedLoopsDoNot_TheLastRestoresAndTrims()
    {
        var libc = new FakeLibc();
        var heap = libc.Heap();

        var outer = heap.Enter();
        Assert.Equal(Apply, libc.Calls);
        Assert.True(heap.Applied);
        var inner = heap.Enter();
        Assert.Equal(2, heap.Active);
        inner.Dispose();
        inner.Dispose(); // a second Dispose of the same scope does nothing
        Assert.Equal(Apply, libc.Calls);
        Assert.Equal(1, heap.Active);

        outer.Dispose();
        Assert.Equal([.. Apply, .. Restore], libc.Calls);
        Assert.Equal(0, heap.Active);
        Assert.False(heap.Applied);

        using (heap.Enter())
        {
        }

        Assert.Equal([.. Apply, .. Restore, .. Apply, .. Restore], libc.Calls);
    }

    [Theory]
    [InlineData("MALLOC_MMAP_THRESHOLD_")]
    [InlineData("MALLOC_TRIM_THRESHOLD_")]
    public void ThresholdsFromTheEnvironment_AreLeftAlone(string variable)
    {
        var libc = new FakeLibc();
        libc.Environment[variable] = "33554432";
        var heap = libc.Heap();
        using (heap.Enter())
            Assert.False(heap.Applied);
        Assert.Empty(libc.Calls);
        Assert.Equal(0, heap.Active);
    }

    [Fact]
    public void AfterPreferReuse_NothingIsSetOrRestored()
    {
        var libc = new FakeLibc { ReusePreferred = true };
        var heap = libc.Heap();
        using (heap.Enter())
        {
        }

        Assert.Empty(libc.Calls);
    }

    [Fact]
    public void PreferReuseDuringTheLoop_KeepsTheProcessWideThresholdsAtTheEnd()
    {
        var libc = new FakeLibc();
        var heap = libc.Heap();
        using (heap.Enter())
            libc.ReusePreferred = true; // the sr tool, or an app, fixed them for the whole process meanwhile
        Assert.Equal(Apply, libc.Calls);
        Assert.False(heap.Applied);
    }

    [Fact]
    public void WithoutMallopt_ScopesStillCount_AndNothingIsCalled()
    {
        var libc = new FakeLibc();
        var heap = libc.Heap(hasMallopt: false);
        using (heap.Enter())
            Assert.Equal(1, heap.Active);
        Assert.Equal(0, heap.Active);
        Assert.Empty(libc.Calls);
    }

    [Fact]
    public void LoopsOnSeveralThreads_SetAndRestoreInPairs()
    {
        var libc = new FakeLibc();
        var heap = libc.Heap();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            using var outer = heap.Enter();
            using var inner = heap.Enter();
        });

        Assert.Equal(0, heap.Active);
        Assert.False(heap.Applied);
        Assert.NotEmpty(libc.Calls);
        var pattern = libc.Calls.Chunk(4).ToArray(); // every apply is followed by its restore
        Assert.All(pattern, chunk => Assert.Equal([.. Apply, .. Restore], chunk));
    }

    [Theory]
    [InlineData(TorchSharp.DeviceType.CUDA)]
    [InlineData(TorchSharp.DeviceType.MPS)]
    public void LoopsOnOtherDevices_GetNoScope(TorchSharp.DeviceType device)
        => Assert.Null(NativeHeap.EnterTraining(device)); // their activations are not in the C heap

    [Fact]
    public void TheTrainer_RunsItsCpuStepsInsideTheProcessScope()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 1);
        using var pair = new TrainingPair(rand(1, 16, 16), rand(1, 32, 32));
        var settings = new TrainingSettings(Scale: 2, Epochs: 1, PatchesPerImage: 4, BatchSize: 2, PatchSize: 16, LearningRate: 1e-3,
            Schedule: SrLearningRateSchedule.Constant, Loss: SrLoss.L1, Seed: 3, LogEveryNSteps: 0, Device: CPU);
        var monitor = new ScopeWatchingMonitor();

        var summary = SrTrainer.Train(network, [pair], settings, monitor);

        Assert.Equal(2, summary.Steps);
        Assert.Equal(2, monitor.ActiveDuringSteps.Count);
        Assert.All(monitor.ActiveDuringSteps, active => Assert.True(active >= 1, "a training step ran outside NativeHeap.EnterTraining"));
    }

    private sealed class ScopeWatchingMonitor : ITrainingMonitor
    {
        public readonly List<int> ActiveDuringSteps = [];

        public void CheckAlive() { }

        public void Info(string message) { }

        public void Warning(string message) { }

        public void Progress(int epoch, int step, int totalSteps, double loss) => ActiveDuringSteps.Add(NativeHeap.Training.Active);
    }
}
