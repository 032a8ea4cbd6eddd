namespace MLNet.SuperResolution.Tests;

/// <summary>
/// The peak resident memory an action adds to this process, from Linux's high-water mark (VmHWM), which writing 5 to
/// /proc/self/clear_refs resets to the current resident size. Test classes run one at a time (Usings.cs), so what is
/// measured is the action's own, native memory (decoders, libtorch) included.
/// </summary>
internal static class PeakMemory
{
    /// <summary>Why it cannot be measured here, or null when it can.</summary>
    public static string? Unsupported { get; } = Probe();

    /// <summary>Runs <paramref name="action"/>; returns its peak resident memory above the resident size before it, in bytes.</summary>
    public static long Measure(Action action)
    {
        if (Unsupported is { } reason)
            throw new InvalidOperationException(reason);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        long before = Kilobytes("VmRSS:");
        action();
        // Linux keeps per-thread RSS counts that it folds in lazily: a few pages either way; no peak is below 0.
        return Math.Max(0, Kilobytes("VmHWM:") - before) * 1024;
    }

    private static long Kilobytes(string field)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
            return "peak memory is measured from Linux's /proc/self (VmHWM)";
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Kilobytes("VmHWM:") > 0 ? null : "/proc/self/status has no VmHWM";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return $"/proc/self/clear_refs cannot be written here ({e.Message})";
        }
    }
}
