using MLNet.SuperResolution.Architectures;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>VDSR, DRCN, DRRN and MemNet: the networks that refine a pre-upscaled Y image.</summary>
[Collection(TorchRngCollection.Name)]
public class RecursiveFamilyTests(ITestOutputHelper output)
{
    private static readonly SrArchitecture[] Family = [SrArchitecture.Vdsr, SrArchitecture.Drcn, SrArchitecture.Drrn, SrArchitecture.MemNet];

    public static TheoryData<SrArchitecture, int> FamilyScales()
    {
        var data = new TheoryData<SrArchitecture, int>();
        foreach (var architecture in Family)
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
            data.Add(architecture, scale);
        return data;
    }

    // Reference counts, from the reference files' layer shapes for one channel (3x3 kernels unless said):
    // VDSR (twtygqyy/pytorch-vdsr vdsr.py, no biases): 1*64*9 + 18 * 64*64*9 + 64*1*9 = 576 + 663,552 + 576 = 664,704.
    // DRCN (togheppi drcn.py with the paper's 256 features, biases): embedding (1*256*9+256) + (256*256*9+256),
    //   conv_block 256*256*9+256, reconstruction (256*256*9+256) + (256*1*9+1) = 2,560 + 3 * 590,080 + 2,305
    //   = 1,775,105. The reference keeps its 16 output weights w in a plain Variable (never registered, so neither
    //   saved nor trained); ours registers them as a Parameter: + 16.
    // DRRN (jt827859032/DRRN-pytorch drrn.py, no biases): 1*128*9 + 2 * 128*128*9 + 128*1*9 = 1,152 + 294,912 + 1,152
    //   = 297,216.
    // MemNet (Vandermode/pytorch-MemNet memnet.py shapes, bias-free convs, BN affine, one shared residual block per
    //   memory block as in the paper): extractor 2*1 + 1*64*9 = 578; reconstructor 2*64 + 64*1*9 = 704; per block m
    //   (1..6) residual block 2 * (2*64 + 64*64*9) = 73,984 and gate 2*(6+m)*64 + (6+m)*64*64 = (6+m) * 4,224;
    //   578 + 704 + 6 * 73,984 + (7+8+...+12) * 4,224 = 1,282 + 443,904 + 240,768 = 685,954. (The paper's "677K"
    //   counts the convolution weights only: 676,992, see MemNet_ConvolutionWeights_MatchPaperCount.)
    [Theory]
    [InlineData(SrArchitecture.Vdsr, 2, 664_704L, 0L)]
    [InlineData(SrArchitecture.Vdsr, 3, 664_704L, 0L)]
    [InlineData(SrArchitecture.Vdsr, 4, 664_704L, 0L)]
    [InlineData(SrArchitecture.Drcn, 2, 1_775_105L, 16L)]
    [InlineData(SrArchitecture.Drcn, 3, 1_775_105L, 16L)]
    [InlineData(SrArchitecture.Drcn, 4, 1_775_105L, 16L)]
    [InlineData(SrArchitecture.Drrn, 2, 297_216L, 0L)]
    [InlineData(SrArchitecture.Drrn, 3, 297_216L, 0L)]
    [InlineData(SrArchitecture.Drrn, 4, 297_216L, 0L)]
    [InlineData(SrArchitecture.MemNet, 2, 685_954L, 0L)]
    [InlineData(SrArchitecture.MemNet, 3, 685_954L, 0L)]
    [InlineData(SrArchitecture.MemNet, 4, 685_954L, 0L)]
    public void PaperPreset_TrainableParameters_MatchReference(SrArchitecture architecture, int scale, long reference, long registeredExtra)
    {
        using var network = NetworkFactory.Create(architecture, scale, 1);
        long ours = network.TrainableParameterCount;
        output.WriteLine($"{architecture} x{scale}: ours {ours:N0}, reference {reference:N0} (+{registeredExtra} registered here only)");
        Assert.Equal(reference + registeredExtra, ours);
        Assert.True(Math.Abs(ours - reference) <= 0.01 * reference);
    }

    [Theory]
    [InlineData(SrArchitecture.Vdsr, new[] { "input.weight", "residual_layer.0.conv.weight", "residual_layer.17.conv.weight", "output.weight" })]
    [InlineData(SrArchitecture.Drcn, new[] { "embedding_layer.0.conv.weight", "embedding_layer.1.conv.bias", "conv_block.conv.weight", "reconstruction_layer.0.conv.weight", "reconstruction_layer.1.conv.bias", "w" })]
    [InlineData(SrArchitecture.Drrn, new[] { "input.weight", "conv1.weight", "conv2.weight", "output.weight" })]
    [InlineData(SrArchitecture.MemNet, new[] { "feature_extractor.bn.weight", "feature_extractor.bn.running_var", "feature_extractor.conv.weight", "dense_memory.0.recursive_unit.relu_conv1.bn.bias", "dense_memory.0.recursive_unit.relu_conv2.conv.weight", "dense_memory.5.gate_unit.conv.weight", "reconstructor.conv.weight" })]
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
        => FamilyChecks.NotesForwardShapes(architecture, scale, 8, 8, seed: 3);

    [Fact]
    public void Recursions_ShareWeights_ParametersDoNotGrowWithDepth()
    {
        using var drcn6 = new Drcn(DrcnOptions.Notes, 2, 1);
        using var drcn16 = new Drcn(DrcnOptions.Notes with { NumRecursion = 16 }, 2, 1);
        Assert.Equal(drcn6.TrainableParameterCount + 10, drcn16.TrainableParameterCount); // only the output weights w
        using var drrn10 = new Drrn(DrrnOptions.Notes, 2, 1);
        using var drrn25 = new Drrn(DrrnOptions.Paper, 2, 1);
        Assert.Equal(drrn10.TrainableParameterCount, drrn25.TrainableParameterCount);
        using var memnetR3 = new MemNet(MemNetOptions.Notes, 2, 1);
        using var memnetR6 = new MemNet(MemNetOptions.Notes with { NumRecursion = 6 }, 2, 1);
        // Only the gates widen: 3 blocks x 3 more inputs of 64 features x (64 weights + 2 BN).
        Assert.Equal(memnetR3.TrainableParameterCount + 3 * 3 * 64 * 66, memnetR6.TrainableParameterCount);
    }

    [Fact]
    public void MemNet_ConvolutionWeights_MatchPaperCount()
    {
        using var network = new MemNet(MemNetOptions.Paper, 3, 1);
        long convWeights = network.named_parameters().Where(p => p.name.EndsWith("conv.weight")).Sum(p => p.parameter.numel());
        long batchNorm = network.named_parameters().Where(p => p.name.Contains(".bn.")).Sum(p => p.parameter.numel());
        output.WriteLine($"MemNet M6R6: conv weights {convWeights:N0} (paper 677K), BN affine {batchNorm:N0}");
        Assert.Equal(676_992L, convWeights);
        Assert.Equal(network.TrainableParameterCount, convWeights + batchNorm);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Drcn_TrainingLoss_IsFinite_AndCombinesRecursionsWithOutput(int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var network = new Drcn(DrcnOptions.Notes, scale, 1);
        network.train();
        var lowRes = rand(2, 1, 8, 8);
        var highRes = rand(2, 1, 8 * scale, 8 * scale);
        var loss = network.TrainingLoss(lowRes, highRes, (a, b) => nn.functional.mse_loss(a, b));
        Assert.Empty(loss.shape);
        Assert.True(loss.isfinite().item<bool>());
        loss.backward();
        Assert.All(network.parameters(), p => Assert.True(p.grad is not null && p.grad.isfinite().all().item<bool>()));

        // Alpha = 0 is the plain loss of the final output.
        using var plain = new Drcn(DrcnOptions.Notes with { Alpha = 0 }, scale, 1);
        plain.load_state_dict(network.state_dict());
        using var _ = no_grad();
        double expected = nn.functional.mse_loss(plain.forward(lowRes), highRes).item<float>();
        double actual = plain.TrainingLoss(lowRes, highRes, (a, b) => nn.functional.mse_loss(a, b)).item<float>();
        Assert.Equal(expected, actual, 5);
    }

    [Fact]
    public void MemNet_TrainingLoss_IsFinite()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var network = new MemNet(MemNetOptions.Notes, 2, 1);
        network.train();
        var loss = network.TrainingLoss(rand(2, 1, 8, 8), rand(2, 1, 16, 16), (a, b) => nn.functional.l1_loss(a, b));
        Assert.True(loss.isfinite().item<bool>());
        loss.backward();
        Assert.All(network.parameters(), p => Assert.True(p.grad is not null && p.grad.isfinite().all().item<bool>()));
    }
}
