// Resident memory of the process, shared by the fuzzers and the soak (compiled into each example that links this file).

/// <summary>Resident memory of this process from /proc (Linux): current, and the peak since the last reset.</summary>
internal static class ProcessMemory
{
    private static long _runPeak;

    /// <summary>The highest peak seen by <see cref="PeakResident"/> since the process started.</summary>
    public static long PeakResidentOfRun => Math.Max(_runPeak, PeakResident());

    /// <summary>Current resident memory (VmRSS), bytes.</summary>
    public static long Resident() => Read("VmRSS:");

    /// <summary>Peak resident memory since the last <see cref="ResetPeak"/> (VmHWM), bytes.</summary>
    public static long PeakResident()
    {
        long peak = Read("VmHWM:");
        _runPeak = Math.Max(_runPeak, peak);
        return peak;
    }

    /// <summary>Collects garbage and resets the kernel's peak (writing 5 to /proc/self/clear_refs).</summary>
    public static void ResetPeak()
    {
        PeakResident();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
            File.WriteAllText("/proc/self/clear_refs", "5");
    }

    private static long Read(string field)
    {
        if (!OperatingSystem.IsLinux())
            return 0;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }

        return 0;
    }
}
