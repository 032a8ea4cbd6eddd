using System.Runtime.InteropServices;

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

    private const int MTrimThreshold = -1, MMmapThreshold = -3; // glibc's malloc.h

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
        if (Options is null || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null)
            return false;
        return Options(MMmapThreshold, 32 * 1024 * 1024) == 1 && Options(MTrimThreshold, 1024 * 1024 * 1024) == 1;
    }

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
