using System.Runtime.InteropServices;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Gives the C heap's free memory back to the operating system between tiles (glibc's <c>malloc_trim</c>). libtorch
/// allocates CPU tensors with <c>malloc</c>; glibc serves the mid-sized ones (up to its dynamic mmap threshold, 32 MB)
/// from its heap and keeps what is freed there, fragmented by tiles of different sizes. Measured on EDSR-baseline
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
