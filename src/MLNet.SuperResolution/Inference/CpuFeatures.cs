using System.Runtime.Intrinsics.X86;

namespace MLNet.SuperResolution.Inference;

/// <summary>What the CPU offers that decides how a network is best run on it.</summary>
internal static class CpuFeatures
{
    /// <summary>
    /// Whether the CPU computes bfloat16 natively: AVX-512 BF16 (CPUID leaf 7 sub-leaf 1, EAX bit 5: AMD Zen 4 and
    /// later, Intel Cooper Lake and later) or AMX-BF16 (leaf 7 sub-leaf 0, EDX bit 22: Intel Sapphire Rapids and later).
    /// Without either, libtorch 2.10 runs bfloat16 convolutions outside oneDNN's fast kernels: on an AMD EPYC Zen 3
    /// (AVX2 only) 8-240x slower than float32 (docs/performance.md). True on other architectures, where it was not
    /// measured and a request for bfloat16 is honoured.
    /// </summary>
    public static bool NativeBFloat16 { get; } = DetectNativeBFloat16();

    /// <summary>
    /// Whether the CPU has AVX-512 Foundation (CPUID leaf 7 sub-leaf 0, EBX bit 16), where oneDNN runs its AVX-512
    /// kernels; null on other architectures. Read from CPUID rather than <c>Avx512F.IsSupported</c>, which the .NET
    /// runtime's own settings can turn off while libtorch still uses the instructions.
    /// </summary>
    public static bool? Avx512Foundation { get; } = X86Base.IsSupported ? (Leaf7(subLeaf: 0).Ebx & (1 << 16)) != 0 : null;

    private static bool DetectNativeBFloat16()
    {
        if (!X86Base.IsSupported)
            return true;
        bool amxBf16 = (Leaf7(subLeaf: 0).Edx & (1 << 22)) != 0;
        bool avx512Bf16 = (Leaf7(subLeaf: 1).Eax & (1 << 5)) != 0;
        return amxBf16 || avx512Bf16;
    }

    /// <summary>CPUID leaf 7 (structured extended features) at <paramref name="subLeaf"/>; zeros where the CPU has no leaf 7. x86 only.</summary>
    private static (int Eax, int Ebx, int Ecx, int Edx) Leaf7(int subLeaf)
    {
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        return maxLeaf < 7 ? default : X86Base.CpuId(7, subLeaf);
    }
}
