using MLNet.SuperResolution.Architectures;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>VDSR, DRCN, DRRN and MemNet: the networks that refine a pre-upscaled Y image.</summary>
[Collection(TorchRngCollection.Name)]
public class RecursiveFamilyTests(ITestOutputHelper output)
{
    private static readonly SrArchitecture[] Family = [SrArchitecture.Vdsr];

    public static TheoryData<SrArchitecture, int> FamilyScales()
    {
        var data = new TheoryData<SrArchitecture, int>();
        foreach (var architecture in Family)
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
            data.Add(architecture, scale);
        return data;
    }

    // Reference counts, from the reference files' layer shapes for one channel (3x3 kernels throughout):
    // VDSR (twtygqyy/pytorch-vdsr vdsr.py, no biases): 1*64*9 + 18 * 64*64*9 + 64*1*9 = 576 + 663,552 + 576 = 664,704.
    [Theory]
    [InlineData(SrArchitecture.Vdsr, 2, 664_704L)]
    [InlineData(SrArchitecture.Vdsr, 3, 664_704L)]
    [InlineData(SrArchitecture.Vdsr, 4, 664_704L)]
    public void PaperPreset_TrainableParameters_MatchReference(SrArchitecture architecture, int scale, long reference)
    {
        using var network = NetworkFactory.Create(architecture, scale, 1);
        long ours = network.TrainableParameterCount;
        output.WriteLine($"{architecture} x{scale}: ours {ours:N0}, reference {reference:N0}");
        Assert.Equal(reference, ours);
    }

    [Theory]
    [InlineData(SrArchitecture.Vdsr, new[] { "input.weight", "residual_layer.0.conv.weight", "residual_layer.17.conv.weight", "output.weight" })]
    public void PaperPreset_StateDict_HasReferenceKeys(SrArchitecture architecture, string[] keys)
    {
        using var network = NetworkFactory.Create(architecture, 2, 1);
        var stateDict = network.state_dict();
        foreach (string key in keys)
            Assert.True(stateDict.ContainsKey(key), $"{architecture} lacks {key}; has {string.Join(", ", stateDict.Keys)}");
    }

    [Fact]
    public void Vdsr_PaperPreset_HasNoBiases_AndBiasOptionAddsThem()
    {
        using var plain = new Vdsr(VdsrOptions.Paper, 2, 1);
        Assert.DoesNotContain(plain.state_dict().Keys, k => k.EndsWith(".bias"));
        using var biased = new Vdsr(VdsrOptions.Paper with { Bias = true }, 2, 1);
        // 664,704 weights + 19 * 64 + 1 biases.
        Assert.Equal(665_921L, biased.TrainableParameterCount);
    }

    [Theory]
    [MemberData(nameof(FamilyScales))]
    public void NotesPreset_Forward_UpscalesShape(SrArchitecture architecture, int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        foreach (int channels in new[] { 1, 3 })
        {
            var options = NetworkFactory.Describe(architecture).Options(SrPreset.Notes);
            using var network = NetworkFactory.Create(architecture, scale, channels, options);
            network.eval();
            using var _ = no_grad();
            var result = network.forward(rand(2, channels, 8, 8));
            Assert.Equal(new long[] { 2, channels, 8 * scale, 8 * scale }, result.shape);
            Assert.True(result.isfinite().all().item<bool>());
        }
    }
}
