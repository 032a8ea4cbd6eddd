namespace MLNet.SuperResolution.Tests;

/// <summary>What the kernel reports about this CPU, for tests of the library's own CPUID checks.</summary>
internal static class CpuInfo
{
    /// <summary>The CPU flags of /proc/cpuinfo's first <c>flags</c> line; skips the calling test elsewhere than Linux on x86.</summary>
    public static string[] FlagsOrSkip()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.Intrinsics.X86.X86Base.IsSupported && File.Exists("/proc/cpuinfo"), "needs Linux on x86 (/proc/cpuinfo)");
        return File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }
}
