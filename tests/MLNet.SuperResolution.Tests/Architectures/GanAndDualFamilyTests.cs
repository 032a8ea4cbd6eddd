using MLNet.SuperResolution.Architectures;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>SRResNet (SRGAN's generator) with the SRGAN discriminator, and DRN (dual regression).</summary>
[Collection(TorchRngCollection.Name)]
public class GanAndDualFamilyTests(ITestOutputHelper output)
{
    public static TheoryData<SrArchitecture, int> FamilyScales()
    {
        var data = new TheoryData<SrArchitecture, int>();
        foreach (var architecture in new[] { SrArchitecture.SrResNet, SrArchitecture.Drn })
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
            data.Add(architecture, scale);
        return data;
    }

    // SRResNet, from twtygqyy/pytorch-SRResNet srresnet.py (BatchNorm version, bias-free convs) for RGB:
    //   conv_input 3*64*81 = 15,552; 16 blocks x (2 * 64*64*9 + 2 BN * 2*64) = 16 * 73,984 = 1,183,744;
    //   conv_mid 64*64*9 + bn_mid 128 = 36,992; conv_output 64*3*81 = 15,552; upscale4x (x4) 2 * 64*256*9 = 294,912:
    //   1,546,752 at x4 (the reference's only scale). Ours at x2: one 64*256*9 stage (147,456) -> 1,399,296; at x3:
    //   one 64*576*9 stage (331,776) -> 1,583,616.
    [Theory]
    [InlineData(2, 1_399_296L)]
    [InlineData(3, 1_583_616L)]
    [InlineData(4, 1_546_752L)]
    public void SrResNet_PaperPreset_TrainableParameters_MatchReference(int scale, long expected)
    {
        using var network = NetworkFactory.Create(SrArchitecture.SrResNet, scale, 3);
        output.WriteLine($"SRResNet x{scale}: ours {network.TrainableParameterCount:N0}, expected {expected:N0} (reference x4 1,546,752)");
        Assert.Equal(expected, network.TrainableParameterCount);
    }

    // DRN, from guoyongcs/DRN model/drn.py + common.py with the utility.init_model templates (DRN-S x4 n_feats 16,
    // n_blocks 30; x8 8, 30; DRN-L x4 20, 40; x8 10, 36), RGB. With n = n_feats, P = log2(scale), conv(i,o,k) =
    // k*k*i*o + o, RCAB(c) = 2 conv(c,c,3) + conv(c,c/16,1) + conv(c/16,c,1):
    //   head conv(3,n,3); down p = 0..P-1: 9 * (n2^p * n2^p + n2^p * n2^(p+1)) (no bias);
    //   up block i: B x RCAB(w_i) + conv(w_i, 4w_i, 3) + conv(w_i, n2^(P-i-1), 1), w_0 = w_1 = n2^P, w_i = n2^(P+1-i);
    //   tails conv(n2^P,3,3) and conv(n2^p,3,3) for p = P..1.
    //   DRN-S x4 4,804,041; x8 5,402,976; DRN-L x4 9,825,869; x8 10,003,994 (primal model).
    // The reference's count_parameters(self.model), its README's 4.8M / 5.4M / 9.8M / 10.0M, covers the primal model
    // only, and there its two MeanShifts (2 x 12) are trainable by mistake: 4,804,065, 5,403,000, 9,825,893,
    // 10,004,018. Ours: MeanShifts fixed (-24), and the dual models counted, as they are trained submodules here:
    // one DownBlock(3 -> n -> 3) per x2 step, 2 * 9*3*n each: + 2*864 = 1,728 (S x4), 3*432 = 1,296 (S x8),
    // 2*1,080 = 2,160 (L x4), 3*540 = 1,620 (L x8).
    [Theory]
    [InlineData(false, 4, 4_804_041L, 1_728L, 4_804_065L)]
    [InlineData(false, 8, 5_402_976L, 1_296L, 5_403_000L)]
    [InlineData(true, 4, 9_825_869L, 2_160L, 9_825_893L)]
    [InlineData(true, 8, 10_003_994L, 1_620L, 10_004_018L)]
    public void Drn_PaperPresets_TrainableParameters_MatchReference(bool large, int scale, long primal, long dual, long reference)
    {
        var options = large ? DrnOptions.PaperLarge : DrnOptions.Paper;
        using var network = new Drn(options, scale, 3);
        long ours = network.TrainableParameterCount;
        long dualModels = network.named_parameters().Where(p => p.name.StartsWith("dual_models.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        output.WriteLine($"DRN-{(large ? "L" : "S")} x{scale}: ours {ours:N0} (dual {dualModels:N0}), reference primal {reference:N0}");
        Assert.Equal(dual, dualModels);
        Assert.Equal(primal + dual, ours);
        Assert.True(Math.Abs(ours - reference) <= 0.01 * reference);
    }

    [Fact]
    public void Drn_PaperPreset_IsDrnS_InTheZoo()
    {
        Assert.Equal(4_805_769L, SrModelZoo.Get(SrArchitecture.Drn).ParameterCount(4));
    }

    [Fact]
    public void SrResNet_StateDict_HasReferenceKeys_AndBatchNormBuffers()
    {
        using var network = NetworkFactory.Create(SrArchitecture.SrResNet, 4, 3);
        var stateDict = network.state_dict();
        string[] keys =
        [
            "conv_input.weight", "residual.0.conv1.weight", "residual.0.bn1.weight", "residual.0.bn1.bias",
            "residual.0.bn1.running_mean", "residual.0.bn1.running_var", "residual.15.conv2.weight", "residual.15.bn2.running_var",
            "conv_mid.weight", "bn_mid.weight", "bn_mid.running_mean", "upscale4x.0.weight", "upscale4x.3.weight", "conv_output.weight",
        ];
        foreach (string key in keys)
            Assert.True(stateDict.ContainsKey(key), $"SRResNet lacks {key}; has {string.Join(", ", stateDict.Keys)}");
        Assert.DoesNotContain(stateDict.Keys, k => k.EndsWith(".bias", StringComparison.Ordinal) && !k.Contains("bn", StringComparison.Ordinal));
        Assert.Equal(new long[] { 64, 3, 9, 9 }, stateDict["conv_input.weight"].shape);
        Assert.Equal(new long[] { 256, 64, 3, 3 }, stateDict["upscale4x.3.weight"].shape);
        var bufferNames = network.named_buffers().Select(b => b.name).ToHashSet();
        Assert.Contains("residual.0.bn1.running_mean", bufferNames);
        Assert.Contains("bn_mid.running_var", bufferNames);
        Assert.DoesNotContain(network.named_parameters(), p => p.name.Contains("running", StringComparison.Ordinal));
    }

    [Fact]
    public void SrResNet_Eval_UsesRunningStatistics_Train_UpdatesThem()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var network = new SrResNet(SrResNetOptions.Notes, 2, 3);
        var batch = rand(2, 3, 8, 8);
        var running = network.state_dict()["bn_mid.running_mean"];
        var before = running.clone();
        network.train();
        using (no_grad())
            network.forward(batch);
        Assert.False(running.allclose(before), "train() did not update the running mean");

        // In eval() an image's output does not depend on the rest of the batch (float64: no kernel-choice rounding).
        network.eval();
        network.to(float64);
        using var _ = no_grad();
        var single = network.forward(batch.narrow(0, 0, 1).to(float64));
        var inBatch = network.forward(batch.to(float64)).narrow(0, 0, 1);
        double difference = (single - inBatch).abs().max().item<double>() / inBatch.abs().max().item<double>();
        Assert.True(difference < 1e-10, $"eval() output depends on the batch (relative {difference:E2})");
    }

    [Fact]
    public void Drn_StateDict_HasReferenceKeys()
    {
        using var network = new Drn(DrnOptions.Paper, 4, 3);
        var stateDict = network.state_dict();
        string[] keys =
        [
            "sub_mean.weight", "sub_mean.bias", "head.weight", "head.bias",
            "down.0.dual_module.0.0.weight", "down.1.dual_module.1.weight",
            "up_blocks.0.0.body.0.weight", "up_blocks.0.0.body.3.conv_du.0.weight", "up_blocks.0.29.body.2.bias",
            "up_blocks.0.30.0.weight", "up_blocks.0.31.weight", "up_blocks.1.30.0.bias", "up_blocks.1.31.weight",
            "tail.0.weight", "tail.2.bias", "add_mean.bias",
            "dual_models.0.dual_module.0.0.weight", "dual_models.1.dual_module.1.weight",
        ];
        foreach (string key in keys)
            Assert.True(stateDict.ContainsKey(key), $"DRN lacks {key}; has {string.Join(", ", stateDict.Keys.Take(80))}");
        // Shapes from the reference for DRN-S x4 (n_feats 16): the first up block at 64 channels, the second at 64
        // after concatenation, upsampling 64 -> 256 and reducing to 16; the last tail sees 32 channels.
        Assert.Equal(new long[] { 32, 16, 3, 3 }, stateDict["down.0.dual_module.1.weight"].shape);
        Assert.Equal(new long[] { 64, 32, 3, 3 }, stateDict["down.1.dual_module.1.weight"].shape);
        Assert.Equal(new long[] { 4, 64, 1, 1 }, stateDict["up_blocks.0.0.body.3.conv_du.0.weight"].shape);
        Assert.Equal(new long[] { 256, 64, 3, 3 }, stateDict["up_blocks.1.30.0.weight"].shape);
        Assert.Equal(new long[] { 16, 64, 1, 1 }, stateDict["up_blocks.1.31.weight"].shape);
        Assert.Equal(new long[] { 3, 32, 3, 3 }, stateDict["tail.2.weight"].shape);
        Assert.Equal(new long[] { 16, 3, 3, 3 }, stateDict["dual_models.0.dual_module.0.0.weight"].shape);
        Assert.False(network.named_parameters().First(p => p.name == "sub_mean.weight").parameter.requires_grad);
    }

    [Theory]
    [MemberData(nameof(FamilyScales))]
    public void NotesPreset_Forward_UpscalesShape(SrArchitecture architecture, int scale)
        => FamilyChecks.NotesForwardShapes(architecture, scale, 8, 10, seed: 3);

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Drn_TrainingLoss_AddsTheDualTerm_AndIntermediateOutputs(int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var network = new Drn(DrnOptions.Notes with { NumBlock = 2 }, scale, 3);
        network.train();
        var lowRes = rand(2, 3, 8, 8);
        var highRes = rand(2, 3, 8 * scale, 8 * scale);
        Tensor Criterion(Tensor a, Tensor b) => nn.functional.l1_loss(a, b);
        var loss = network.TrainingLoss(lowRes, highRes, Criterion);
        Assert.Empty(loss.shape);
        Assert.True(loss.isfinite().item<bool>());
        loss.backward();
        Assert.All(network.named_parameters().Where(p => p.name.StartsWith("dual_models.", StringComparison.Ordinal)),
            p => Assert.True(p.parameter.grad is not null && p.parameter.grad.abs().sum().item<float>() > 0, $"{p.name} gets no gradient"));

        using var _ = no_grad();
        double withDual = loss.item<float>();
        using var noDual = new Drn(DrnOptions.Notes with { NumBlock = 2, DualWeight = 0 }, scale, 3);
        noDual.load_state_dict(network.state_dict());
        using var doubleDual = new Drn(DrnOptions.Notes with { NumBlock = 2, DualWeight = 0.2 }, scale, 3);
        doubleDual.load_state_dict(network.state_dict());
        double primal = noDual.TrainingLoss(lowRes, highRes, Criterion).item<float>();
        double twice = doubleDual.TrainingLoss(lowRes, highRes, Criterion).item<float>();
        output.WriteLine($"DRN x{scale}: lambda 0 {primal:F5}, 0.1 {withDual:F5}, 0.2 {twice:F5}");
        Assert.True(withDual > primal);
        Assert.Equal(twice - primal, 2 * (withDual - primal), 4); // the dual term is linear in lambda

        // Without the dual term the loss is the criterion at every size: more than the final output's alone.
        double finalOnly = Criterion(noDual.forward(lowRes), highRes).item<float>();
        Assert.True(primal > finalOnly);
    }

    // twtygqyy/pytorch-SRResNet srresnet.py _NetD for 96x96 RGB: convolutions 3*64*9 + 64*64*16 + 64*128*9 + 128*128*16
    //   + 128*256*9 + 256*256*16 + 256*512*9 + 512*512*16 = 7,120,576; BN 2 * (64 + 128 + 128 + 256 + 256 + 512 + 512)
    //   = 3,712; fc1 512*6*6*1024 + 1024 = 18,875,392; fc2 1024 + 1 = 1,025: 26,000,705.
    [Fact]
    public void SrganDiscriminator_ParameterCount_AndOneLogitPerImage()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        using var discriminator = new SrganDiscriminator();
        long count = discriminator.parameters().Sum(p => p.numel());
        output.WriteLine($"SRGAN discriminator: {count:N0} parameters");
        Assert.Equal(26_000_705L, count);
        var keys = discriminator.state_dict().Keys.ToHashSet();
        foreach (string key in new[] { "features.0.weight", "features.2.weight", "features.3.running_mean", "features.20.weight", "features.21.bias", "fc1.weight", "fc2.bias" })
            Assert.Contains(key, keys);

        discriminator.train();
        var logits = discriminator.forward(rand(2, 3, 96, 96));
        Assert.Equal(new long[] { 2 }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());

        using var small = new SrganDiscriminator(channels: 1, patchSize: 32);
        small.eval();
        using var _ = no_grad();
        Assert.Equal(new long[] { 3 }, small.forward(rand(3, 1, 32, 32)).shape);
    }

    // Width 16 (the tests' adversarial discriminator), 16x16 RGB patches: convolutions 3*16*9 + 16*16*16 + 16*32*9
    //   + 32*32*16 + 32*64*9 + 64*64*16 + 64*128*9 + 128*128*16 = 445,360; BN 2 * (16 + 32 + 32 + 64 + 64 + 128 + 128)
    //   = 928; fc1 128*1*1*256 + 256 = 33,024; fc2 256 + 1 = 257: 479,569.
    [Fact]
    public void SrganDiscriminator_Width_ScalesEveryLayer_KeysStay()
    {
        random.manual_seed(6);
        using var paper = new SrganDiscriminator();
        using var small = new SrganDiscriminator(channels: 3, patchSize: 16, width: 16);
        Assert.Equal(64, paper.Width);
        Assert.Equal(479_569L, small.parameters().Sum(p => p.numel()));
        Assert.Equal(paper.state_dict().Keys, small.state_dict().Keys);
        Assert.Equal(new long[] { 256, 128 }, small.state_dict()["fc1.weight"].shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SrganDiscriminator(width: 0));
    }
}
