using MLNet.SuperResolution.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Where the channel padding of <see cref="ChannelPaddedConv2d"/> and <see cref="ChannelPaddedConvTranspose2d"/> runs:
/// on CPU tensors, on CPUs whose oneDNN kernels have the float32 convolution bugs those layers route around.
/// </summary>
/// <remarks>
/// The bugs were measured where oneDNN runs its AVX-512 kernels (<c>jit:avx512_core</c>, AMD EPYC Zen 4; there
/// <c>ONEDNN_MAX_CPU_ISA=AVX2</c> makes the transposed-convolution one go away). On an AVX2-only CPU (AMD EPYC Zen 3)
/// none reproduces and the padding costs time: ESPCN x2's output layer computes 16 channels for its 4 (about 1 ms of a
/// 15-20 ms training step), SRCNN's 16 for its 1 (docs/performance.md). So the padding runs where the CPU has AVX-512 (CPUID leaf 7,
/// EBX bit 16), and on CPUs other than x86, where it was not measured and stays as a precaution; on a GPU (cuDNN)
/// never. The padded and the plain computation give the same values to float32 rounding wherever the kernels are
/// right; GradientCorrectnessTests checks the float32 gradients against float64 on every machine it runs on.
/// </remarks>
internal static class OneDnnWorkarounds
{
    private static readonly AsyncLocal<bool?> Forced = new();

    /// <summary>Whether this CPU's oneDNN kernels may have the bugs: x86 with AVX-512, or not x86 at all.</summary>
    public static bool CpuNeedsThem { get; } = CpuFeatures.Avx512Foundation ?? true;

    /// <summary>Whether a convolution on <paramref name="input"/> pads its channels.</summary>
    public static bool AppliesTo(Tensor input) => Rule(input.device_type, CpuNeedsThem, Forced.Value);

    /// <summary>The rule itself: on the CPU, where forced, else where the CPU needs them; never on another device.</summary>
    internal static bool Rule(DeviceType device, bool cpuNeedsThem, bool? forced) => device == DeviceType.CPU && (forced ?? cpuNeedsThem);

    /// <summary>
    /// Forces the padding on or off for CPU tensors in this execution flow (this thread and the tasks it starts) until
    /// disposed: tests run the padded path on every machine, benchmarks compare both.
    /// </summary>
    public static IDisposable Force(bool apply)
    {
        var previous = Forced.Value;
        Forced.Value = apply;
        return new Restore(previous);
    }

    private sealed class Restore(bool? previous) : IDisposable
    {
        public void Dispose() => Forced.Value = previous;
    }
}
