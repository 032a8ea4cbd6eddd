using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>Seeded random networks and inputs for the inference tests.</summary>
internal static class InferenceTestNetworks
{
    public static SrNetwork Build(SrArchitecture architecture, int scale, SrPreset preset, SrChannels channels, int seed = 1)
    {
        random.manual_seed(seed);
        var network = NetworkFactory.Create(architecture, scale, channels.NetworkChannels(), SrModelZoo.Get(architecture).Options(preset));
        network.eval();
        return network;
    }

    /// <summary>A random LR batch [1, channels, height, width] in [0, 1].</summary>
    public static Tensor Input(int channels, int height, int width, int seed = 2)
    {
        using var generator = new Generator((ulong)seed);
        return rand(new long[] { 1, channels, height, width }, generator: generator);
    }

    public static RgbImage RandomImage(int width, int height, int seed)
    {
        var bytes = new byte[3 * width * height];
        new Random(seed).NextBytes(bytes);
        return new RgbImage(width, height, bytes);
    }

    public static double MaxAbsDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
