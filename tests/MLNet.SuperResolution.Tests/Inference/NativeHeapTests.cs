using System.Runtime.InteropServices;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// <see cref="NativeHeap.AdaptThresholds"/> (run by <see cref="NetworkFactory.Create"/>) leaves glibc serving
/// activation-sized blocks from its heap, where freed ones are reused, instead of mapping each afresh.
/// </summary>
public sealed class NativeHeapTests
{
    /// <summary>glibc's mallinfo2 (2.33 and later): ten size_t counters.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, OrdBlks, SmBlks, HBlks, HBlkHd, UsmBlks, FsmBlks, UordBlks, FordBlks, KeepCost;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 ReadMallInfo2();

    private static bool HasMallInfo2()
        => OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "mallinfo2", out _);

    [Fact]
    public void BuildingANetwork_LeavesA16MegabyteBlockToTheHeap_NotToAMappingOfItsOwn()
    {
        if (!NativeHeap.Available || !HasMallInfo2())
        {
            Assert.False(NativeHeap.AdaptThresholds(), "without glibc the adaptation must not run");
            return; // not glibc: nothing to adapt (the method is a no-op there)
        }

        using (NetworkFactory.Create(SrArchitecture.Espcn, 2, 1))
        {
        }

        Assert.True(NativeHeap.AdaptThresholds());
        const int sixteenMegabytes = 16 * 1024 * 1024; // one 64-channel float activation of 256x256
        long mappedBefore = (long)ReadMallInfo2().HBlkHd;
        var block = Marshal.AllocHGlobal(sixteenMegabytes);
        try
        {
            long mappedGrowth = (long)ReadMallInfo2().HBlkHd - mappedBefore;
            Assert.True(mappedGrowth < sixteenMegabytes,
                $"a 16 MB malloc was mapped on its own ({mappedGrowth} more mapped bytes): glibc's mmap threshold was not raised");
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }
}
