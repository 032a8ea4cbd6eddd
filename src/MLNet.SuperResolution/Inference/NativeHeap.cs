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

    private static readonly MallocTrim? Trim = Load();

    /// <summary>Whether <c>malloc_trim</c> was found (glibc on Linux).</summary>
    public static bool Available => Trim is not null;

    /// <summary>Returns free heap memory to the system (all arenas); cheap next to a tile's forward pass.</summary>
    public static void Release() => Trim?.Invoke(0);

    private static MallocTrim? Load()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out var libc))
            return null;
        return NativeLibrary.TryGetExport(libc, "malloc_trim", out var function)
            ? Marshal.GetDelegateForFunctionPointer<MallocTrim>(function)
            : null;
    }
}
