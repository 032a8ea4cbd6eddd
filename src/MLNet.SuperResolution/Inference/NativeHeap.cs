using System.Runtime.InteropServices;
using TorchSharp;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// The C heap, where libtorch's CPU tensors live (glibc on Linux): adapts its thresholds once per process
/// (<see cref="AdaptThresholds"/>), and gives its free memory back to the operating system between tiles (glibc's
/// <c>malloc_trim</c>). libtorch allocates CPU tensors with <c>malloc</c>; glibc serves the mid-sized ones (up to its
/// dynamic mmap threshold, 32 MB) from its heap and keeps what is freed there, fragmented by tiles of different sizes. Measured on EDSR-baseline
/// (Paper) x4, 1000 x 750 tiled: the resident floor between tiles grew from 350 to 600 MB over 30 tiles without it,
/// and the peak was 1.1-1.3 GB against 0.9 GB with the heap trimmed after each tile. A no-op where the function is
/// absent (not Linux, or a C library without it such as musl).
/// </summary>
internal static class NativeHeap
{
    private delegate int MallocTrim(nuint pad);

    private delegate int MallOpt(int parameter, int value);

    internal const int MTrimThreshold = -1, MMmapThreshold = -3; // glibc's malloc.h

    private static readonly MallocTrim? Trim = Load<MallocTrim>("malloc_trim");

    private static readonly MallOpt? Options = Load<MallOpt>("mallopt");

    /// <summary>Whether <c>malloc_trim</c> was found (glibc on Linux).</summary>
    public static bool Available => Trim is not null;

    /// <summary>Returns free heap memory to the system (all arenas); cheap next to a tile's forward pass.</summary>
    public static void Release() => Trim?.Invoke(0);

    /// <summary>
    /// For a process that runs networks on images of a few sizes (the <c>sr</c> tool, training, benchmarks): fixes
    /// glibc's mmap threshold at 32 MB and its trim threshold at 1 GB, the same as
    /// <c>MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824</c>. Freed activation buffers are then
    /// reused instead of being returned and faulted in again page by page, which made one process in four ~35% slower
    /// than the next (docs/performance.md); <see cref="Release"/> still trims between tiles. Not for services that
    /// see images of very many sizes (resident memory grows; see the README's "Soak"). Returns false where glibc's
    /// <c>mallopt</c> is absent. Process-wide; leaves settings made through those environment variables alone.
    /// </summary>
    public static bool PreferReuse()
    {
        if (Options is null || ThresholdsSetByEnvironment(Environment.GetEnvironmentVariable))
            return false;
        bool applied = Options(MMmapThreshold, ReuseMmapThreshold) == 1 && Options(MTrimThreshold, ReuseTrimThreshold) == 1;
        ReusePreferred |= applied;
        return applied;
    }

    /// <summary>Whether <see cref="PreferReuse"/> has fixed the thresholds for the rest of the process.</summary>
    internal static bool ReusePreferred { get; private set; }

    /// <summary>The thresholds <see cref="PreferReuse"/> and <see cref="EnterTraining"/> set: mmap 32 MB, trim 1 GB.</summary>
    internal const int ReuseMmapThreshold = 32 * 1024 * 1024, ReuseTrimThreshold = 1024 * 1024 * 1024;

    /// <summary>
    /// The trim threshold a training loop leaves behind: 64 MB, twice the mmap threshold, where glibc's own adaptation
    /// (<see cref="AdaptThresholds"/>) puts it.
    /// </summary>
    internal const int AdaptedTrimThreshold = 2 * ReuseMmapThreshold;

    /// <summary>Whether the process was started with glibc's heap thresholds in its environment (then they are left alone).</summary>
    internal static bool ThresholdsSetByEnvironment(Func<string, string?> environment)
        => environment("MALLOC_MMAP_THRESHOLD_") is not null || environment("MALLOC_TRIM_THRESHOLD_") is not null;

    /// <summary>The process's training loops (<see cref="EnterTraining"/>).</summary>
    internal static readonly TrainingHeap Training = new(
        Options is null ? null : (parameter, value) => Options(parameter, value) == 1,
        () => Trim?.Invoke(0),
        Environment.GetEnvironmentVariable,
        () => ReusePreferred);

    /// <summary>
    /// For the duration of a CPU training loop (<c>SrTrainer</c>, the benchmarks' training step): the thresholds of
    /// <see cref="PreferReuse"/>, so that the activations a step frees stay in the heap for the next step instead of
    /// being trimmed and faulted in again page by page (a batch of 16 VDSR activations of 48x48 is 9.4 MB; a step frees
    /// 20 of them at once, three times the 64 MB trim threshold: docs/performance.md, "The heap during training").
    /// When the last loop ends, the trim threshold goes back to 64 MB and the heap is trimmed once; the mmap threshold
    /// stays at 32 MB, the value glibc's adaptation reaches. A no-op where <c>mallopt</c> is absent, when the process's
    /// environment sets the thresholds, or when <see cref="PreferReuse"/> already fixed them. Nests and may be entered
    /// from several threads; dispose the returned scope when the loop ends. Null for a loop on any other device than
    /// the CPU (its activations are not in this heap).
    /// </summary>
    /// <param name="device">Where the loop's tensors live.</param>
    internal static IDisposable? EnterTraining(DeviceType device) => device == DeviceType.CPU ? Training.Enter() : null;

    /// <summary>
    /// The block <see cref="AdaptThresholds"/> frees: just under glibc's 32 MB cap on its dynamic mmap threshold
    /// (<c>DEFAULT_MMAP_THRESHOLD_MAX</c> on 64-bit), so that the freed chunk, header and page rounding included, is
    /// still within it.
    /// </summary>
    internal const int AdaptationBlockBytes = 32 * 1024 * 1024 - 64 * 1024;

    private static readonly Lazy<bool> Adapted = new(() =>
    {
        if (!Available)
            return false;
        var block = Marshal.AllocHGlobal(AdaptationBlockBytes); // malloc: an mmap of its own at this size, never touched
        Marshal.FreeHGlobal(block);
        return true;
    });

    /// <summary>
    /// Once per process, on glibc: mallocs and frees one untouched block of just under 32 MB, nothing else. Freeing a
    /// block that glibc had mapped on its own raises glibc's dynamic mmap threshold to that block's size and its trim
    /// threshold to twice that (mallopt(3), M_MMAP_THRESHOLD): glibc's own adaptation, which any process reaches once
    /// it frees a buffer that large (PyTorch's processes reach it while loading). Without it the thresholds follow the
    /// network's first activations, e.g. 16 and 32 MB for 64 channels at 256x256; then the two activations freed at the
    /// top of the heap after each forward are exactly 32 MB, are returned to the kernel, and are faulted back in page
    /// by page by the next forward (docs/performance.md: VDSR Notes x2 at 128x128, 334 -> 236 ms per forward and 84,000
    /// -> 16,000 page faults). Unlike <see cref="PreferReuse"/> it leaves the thresholds dynamic and keeps trimming.
    /// Returns whether it ran (false where <c>malloc_trim</c> is absent: not glibc).
    /// </summary>
    public static bool AdaptThresholds() => Adapted.Value;

    private static T? Load<T>(string name)
        where T : Delegate
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out var libc))
            return null;
        return NativeLibrary.TryGetExport(libc, name, out var function)
            ? Marshal.GetDelegateForFunctionPointer<T>(function)
            : null;
    }
}

/// <summary>
/// Counts the training loops that run in the process and holds glibc's heap thresholds at
/// <see cref="NativeHeap.PreferReuse"/>'s values while any does (<see cref="NativeHeap.EnterTraining"/>). The C library
/// is reached through the delegates given, so that tests can watch the calls.
/// </summary>
internal sealed class TrainingHeap
{
    private readonly Func<int, int, bool>? _mallopt;
    private readonly Action _trim;
    private readonly Func<string, string?> _environment;
    private readonly Func<bool> _reusePreferred;
    private readonly object _gate = new();
    private int _active;
    private bool _applied;

    /// <param name="mallopt">glibc's <c>mallopt</c>, true on success; null where it is absent.</param>
    /// <param name="trim">glibc's <c>malloc_trim(0)</c>.</param>
    /// <param name="environment">Reads the process's environment.</param>
    /// <param name="reusePreferred">Whether <see cref="NativeHeap.PreferReuse"/> fixed the thresholds for the whole process.</param>
    public TrainingHeap(Func<int, int, bool>? mallopt, Action trim, Func<string, string?> environment, Func<bool> reusePreferred)
    {
        _mallopt = mallopt;
        _trim = trim;
        _environment = environment;
        _reusePreferred = reusePreferred;
    }

    /// <summary>The training loops inside a scope now.</summary>
    public int Active
    {
        get
        {
            lock (_gate)
                return _active;
        }
    }

    /// <summary>Whether the thresholds are held at the training values by this class now.</summary>
    public bool Applied
    {
        get
        {
            lock (_gate)
                return _applied;
        }
    }

    /// <summary>Enters a training loop; the first one sets the thresholds. Dispose the result when the loop ends.</summary>
    public IDisposable Enter()
    {
        lock (_gate)
        {
            if (_active++ == 0 && _mallopt is not null && !_reusePreferred() && !NativeHeap.ThresholdsSetByEnvironment(_environment))
                _applied = _mallopt(NativeHeap.MMmapThreshold, NativeHeap.ReuseMmapThreshold)
                           && _mallopt(NativeHeap.MTrimThreshold, NativeHeap.ReuseTrimThreshold);
        }

        return new Scope(this);
    }

    private void Leave()
    {
        lock (_gate)
        {
            if (--_active > 0 || !_applied)
                return;
            _applied = false;
            if (_reusePreferred())
                return; // PreferReuse was called during the loop: the process keeps its thresholds
            _mallopt!(NativeHeap.MTrimThreshold, NativeHeap.AdaptedTrimThreshold);
            _trim();
        }
    }

    private sealed class Scope(TrainingHeap owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                owner.Leave();
        }
    }
}
