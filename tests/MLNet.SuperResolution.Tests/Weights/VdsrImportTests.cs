using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Tests.Architectures;
using MLNet.SuperResolution.Weights;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Weights;

[Collection(TorchRngCollection.Name)]
public class VdsrImportTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Vdsr_ImportedWeights_ReproducePyTorchProbe()
    {
        string weights = SharedData.Require("weights", "vdsr", "vdsr.pth");
        string dir = Path.GetDirectoryName(weights)!;
        using var scope = NewDisposeScope();
        using var network = new Vdsr(VdsrOptions.Paper, 2, 1);
        PyTorchWeights.Load(network, weights);
        network.eval();

        // The probe is already the upscaled Y image: run the refinement only, as pytorch-vdsr does.
        var input = Npy.Load(Path.Combine(dir, "probe_in.npy"));
        var expected = Npy.Load(Path.Combine(dir, "probe_out.npy"));
        Assert.Equal(new long[] { 1, 1, 24, 20 }, input.shape);
        using var _ = no_grad();
        var actual = network.Refine(input);
        Assert.Equal(expected.shape, actual.shape);
        double maxDiff = (actual - expected).abs().max().item<float>();
        output.WriteLine($"VDSR: max |TorchSharp - PyTorch| = {maxDiff:E3}");
        Assert.True(maxDiff <= 1e-4, $"max abs diff {maxDiff}");
    }
}
