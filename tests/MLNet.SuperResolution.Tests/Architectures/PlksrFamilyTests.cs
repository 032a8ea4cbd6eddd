using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// PLKSR and RealPLKSR: the references' keys, shapes and parameter counts for every kind of block they build, the
/// options' checks, DySample's fixed sub-pixel positions, and the tiling of RealPLKSR's local (layer-norm) variant.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class PlksrFamilyTests(ITestOutputHelper output)
{
    // Counted with PyTorch 1.13: sum(p.numel() for p in model.parameters()) of dslisleedh/PLKSR's
    // PLKSR(dim=64, n_blocks=28, upscaling_factor=s, ccm_type='DCCM', kernel_size=17, split_ratio=0.25, lk_type='PLK',
    // use_ea=True) and of neosr's realplksr(upscaling_factor=s) (every parameter is trainable in both).
    [Theory]
    [InlineData(SrArchitecture.Plksr, 2, 7_365_324L)]
    [InlineData(SrArchitecture.Plksr, 3, 7_373_979L)]
    [InlineData(SrArchitecture.Plksr, 4, 7_386_096L)]
    [InlineData(SrArchitecture.RealPlksr, 2, 7_368_908L)]
    [InlineData(SrArchitecture.RealPlksr, 3, 7_377_563L)]
    [InlineData(SrArchitecture.RealPlksr, 4, 7_389_680L)]
    public void PaperPreset_Parameters_MatchTheReference(SrArchitecture architecture, int scale, long reference)
        => FamilyChecks.PaperParameterCount(output, architecture, scale, 3, reference, reference);

    // PLKSR-tiny (n_blocks=12, kernel_size=13, use_ea=False); neosr's realplksr(dysample=True) and realplksr_s
    // (n_blocks=12, kernel_size=13, use_ea=False); traiNNer-redux's RealPLKSR(layer_norm=True) (the same count as the
    // group-norm network: D weights and D biases either way).
    [Theory]
    [InlineData(2, 2_349_772L, 7_369_747L, 2_351_308L, 7_368_908L)]
    [InlineData(3, 2_358_427L, 7_380_617L, 2_359_963L, 7_377_563L)]
    [InlineData(4, 2_370_544L, 7_402_243L, 2_372_080L, 7_389_680L)]
    public void OtherPublishedConfigurations_Parameters_MatchTheReference(int scale, long tiny, long dySample, long small, long layerNorm)
    {
        using var plksrTiny = new Plksr(PlksrOptions.Tiny, scale, 3);
        using var withDySample = new RealPlksr(RealPlksrOptions.Paper with { DySample = true }, scale, 3);
        using var realSmall = new RealPlksr(RealPlksrOptions.Small, scale, 3);
        using var withLayerNorm = new RealPlksr(RealPlksrOptions.Paper with { LayerNorm = true }, scale, 3);
        Assert.Equal(tiny, plksrTiny.TrainableParameterCount);
        Assert.Equal(dySample, withDySample.TrainableParameterCount);
        Assert.Equal(small, realSmall.TrainableParameterCount);
        Assert.Equal(layerNorm, withLayerNorm.TrainableParameterCount);
    }

    [Fact]
    public void Plksr_StateDict_HasTheReferenceKeysAndShapes()
    {
        using var network = NetworkFactory.Create(SrArchitecture.Plksr, 4, 3);
        var stateDict = network.state_dict();
        var expected = new List<string> { "feats.0.weight", "feats.0.bias", "feats.29.weight", "feats.29.bias" };
        for (int i = 1; i <= 28; i++)
            expected.AddRange(new[] { "channe_mixer.0", "channe_mixer.2", "lk.conv", "attn.f.0", "refine" }
                .SelectMany(layer => new[] { $"feats.{i}.{layer}.weight", $"feats.{i}.{layer}.bias" }));
        Assert.Equal(expected.Order(), stateDict.Keys.Order());
        Assert.Equal(new long[] { 64, 3, 3, 3 }, stateDict["feats.0.weight"].shape);
        Assert.Equal(new long[] { 128, 64, 3, 3 }, stateDict["feats.1.channe_mixer.0.weight"].shape);
        Assert.Equal(new long[] { 64, 128, 3, 3 }, stateDict["feats.1.channe_mixer.2.weight"].shape);
        Assert.Equal(new long[] { 16, 16, 17, 17 }, stateDict["feats.5.lk.conv.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 3, 3 }, stateDict["feats.28.attn.f.0.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 1, 1 }, stateDict["feats.28.refine.weight"].shape);
        Assert.Equal(new long[] { 48, 64, 3, 3 }, stateDict["feats.29.weight"].shape);

        using var tiny = new Plksr(PlksrOptions.Tiny, 2, 3);
        Assert.DoesNotContain(tiny.state_dict().Keys, k => k.Contains(".attn."));
        Assert.Equal(new long[] { 16, 16, 13, 13 }, tiny.state_dict()["feats.12.lk.conv.weight"].shape);
        Assert.Equal(new long[] { 12, 64, 3, 3 }, tiny.state_dict()["feats.13.weight"].shape);
    }

    [Theory]
    [InlineData(PlksrChannelMixer.Ccm, 3, 1)]
    [InlineData(PlksrChannelMixer.Iccm, 1, 3)]
    [InlineData(PlksrChannelMixer.Dccm, 3, 3)]
    public void Plksr_ChannelMixers_HaveTheReferenceKernels(PlksrChannelMixer mixer, int first, int second)
    {
        using var network = new Plksr(PlksrOptions.Notes with { ChannelMixer = mixer }, 2, 3);
        var stateDict = network.state_dict();
        Assert.Equal(new long[] { 64, 32, first, first }, stateDict["feats.1.channe_mixer.0.weight"].shape);
        Assert.Equal(new long[] { 32, 64, second, second }, stateDict["feats.1.channe_mixer.2.weight"].shape);
    }

    [Fact]
    public void Plksr_SparseKernels_HaveTheReferenceShapes()
    {
        // The reference's defaults: kernels 5, 5, 5, 5 at dilations 1, 2, 3, 4; the largest equivalent kernel is 4 x 4 + 1 = 17.
        using var sparse = new Plksr(PlksrOptions.Notes with { LargeKernel = PlksrLargeKernel.SparsePlk, UseMaxKernel = true }, 2, 3);
        var stateDict = sparse.state_dict();
        for (int j = 0; j < 4; j++)
            Assert.Equal(new long[] { 8, 8, 5, 5 }, stateDict[$"feats.1.lk.convs.{j}.weight"].shape);
        Assert.Equal(new long[] { 8, 8, 17, 17 }, stateDict["feats.1.lk.convs.4.weight"].shape);
        Assert.False(stateDict.ContainsKey("feats.1.lk.convs.5.weight"));

        // RectSparsePLK: m x m/3, m/3 x m, m/3 x m/3 (15 -> 5).
        using var rect = new Plksr(PlksrOptions.Notes with { LargeKernel = PlksrLargeKernel.RectSparsePlk, KernelSize = 15 }, 2, 3);
        stateDict = rect.state_dict();
        Assert.Equal(new long[] { 8, 8, 15, 5 }, stateDict["feats.2.lk.mn_conv.weight"].shape);
        Assert.Equal(new long[] { 8, 8, 5, 15 }, stateDict["feats.2.lk.nm_conv.weight"].shape);
        Assert.Equal(new long[] { 8, 8, 5, 5 }, stateDict["feats.2.lk.nn_conv.weight"].shape);

        using var scope = NewDisposeScope();
        foreach (var network in new SrNetwork[] { sparse, rect })
        {
            network.eval();
            using var noGrad = no_grad();
            Assert.Equal(new long[] { 2, 3, 14, 18 }, network.forward(rand(2, 3, 7, 9)).shape);
        }
    }

    [Fact]
    public void Plksr_Options_RoundTripThroughJson_WithTheirKernelLists()
    {
        var options = PlksrOptions.Notes with { LargeKernel = PlksrLargeKernel.SparsePlk, SparseKernels = [5, 3], SparseDilations = [2, 3], WithIdentity = true };
        var json = NetworkFactory.SerializeOptions(options);
        var back = NetworkFactory.DeserializeOptions(SrArchitecture.Plksr, json);
        Assert.Equal(options, back);
        Assert.Equal(options.GetHashCode(), back.GetHashCode());
        Assert.NotEqual(options, options with { SparseDilations = [2, 4] });
    }

    [Fact]
    public void Plksr_InvalidOptions_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Plksr(PlksrOptions.Notes with { KernelSize = 12 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Plksr(PlksrOptions.Notes with { SplitRatio = 0.01 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Plksr(PlksrOptions.Notes with { NumBlocks = 0 }, 2, 3));
        // 13 / 3 = 4: an even side would change the image size in the reference.
        Assert.Throws<ArgumentOutOfRangeException>(() => new Plksr(PlksrOptions.Notes with { LargeKernel = PlksrLargeKernel.RectSparsePlk }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Plksr(PlksrOptions.Notes with { LargeKernel = PlksrLargeKernel.SparsePlk, SparseKernels = [4] }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealPlksr(RealPlksrOptions.Notes with { NormGroups = 5 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealPlksr(RealPlksrOptions.Notes with { Dropout = 1 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RealPlksr(RealPlksrOptions.Notes with { KernelSize = 16 }, 2, 3));
    }

    [Fact]
    public void RealPlksr_StateDict_HasTheReferenceKeys_TheDropoutTakesAnIndex()
    {
        using var network = NetworkFactory.Create(SrArchitecture.RealPlksr, 2, 3);
        var stateDict = network.state_dict();
        var expected = new List<string> { "feats.0.weight", "feats.0.bias", "feats.30.weight", "feats.30.bias" };
        for (int i = 1; i <= 28; i++)
            expected.AddRange(new[] { "channel_mixer.0", "channel_mixer.2", "lk.conv", "attn.f.0", "refine", "norm" }
                .SelectMany(layer => new[] { $"feats.{i}.{layer}.weight", $"feats.{i}.{layer}.bias" }));
        Assert.Equal(expected.Order(), stateDict.Keys.Order());
        Assert.Equal(new long[] { 12, 64, 3, 3 }, stateDict["feats.30.weight"].shape);
        Assert.Equal(new long[] { 64 }, stateDict["feats.4.norm.weight"].shape);
        // TorchSharp's GroupNorm leaves its parameters uninitialised; the reference sets 1 and 0.
        Assert.True(stateDict["feats.4.norm.weight"].eq(ones(64)).all().item<bool>());
        Assert.True(stateDict["feats.4.norm.bias"].eq(zeros(64)).all().item<bool>());

        using var layerNorm = new RealPlksr(RealPlksrOptions.Notes with { LayerNorm = true, UseEa = false }, 2, 3);
        var keys = layerNorm.state_dict().Keys.ToArray();
        Assert.Contains("feats.1.layer_norm.weight", keys);
        Assert.Contains("feats.4.layer_norm.bias", keys);
        Assert.DoesNotContain(keys, k => k.Contains(".norm.") || k.Contains(".attn."));
        Assert.Contains("feats.6.weight", keys); // 4 blocks, the dropout at 5
    }

    [Theory]
    [InlineData(2, 4, 12)]
    [InlineData(3, 3, 27)]
    [InlineData(4, 4, 48)]
    public void RealPlksr_DySample_HasTheReferenceKeys_AndGroups(int scale, int groups, int inChannels)
    {
        using var network = new RealPlksr(RealPlksrOptions.Notes with { DySample = true }, scale, 3);
        var toImg = network.state_dict().Where(kv => kv.Key.StartsWith("to_img.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        long offsets = 2L * groups * scale * scale;
        Assert.Equal(6, toImg.Count);
        Assert.Equal(new long[] { 1, offsets, 1, 1 }, toImg["to_img.init_pos"]);
        Assert.Equal(new long[] { offsets, inChannels, 1, 1 }, toImg["to_img.offset.weight"]);
        Assert.Equal(new long[] { offsets }, toImg["to_img.offset.bias"]);
        Assert.Equal(new long[] { offsets, inChannels, 1, 1 }, toImg["to_img.scope.weight"]);
        Assert.Equal(new long[] { 3, inChannels, 1, 1 }, toImg["to_img.end_conv.weight"]);
        Assert.Equal(new long[] { 3 }, toImg["to_img.end_conv.bias"]);
        Assert.DoesNotContain(network.named_parameters(), p => p.name == "to_img.init_pos"); // a buffer, not trained
    }

    [Fact]
    public void DySample_InitialPositions_AreTheReferences()
    {
        // neosr's DySample(12, 3, 2, groups=4).init_pos and DySample(27, 3, 3, groups=3).init_pos, flattened.
        float q = 0.25f, t = 1 / 3f;
        float[] x2 = [.. Enumerable.Repeat(new[] { -q, q }, 8).SelectMany(v => v), .. Enumerable.Repeat(new[] { -q, -q, q, q }, 4).SelectMany(v => v)];
        float[] x3 = [.. Enumerable.Repeat(new[] { -t, 0, t }, 9).SelectMany(v => v), .. Enumerable.Repeat(new[] { -t, -t, -t, 0, 0, 0, t, t, t }, 3).SelectMany(v => v)];
        Assert.Equal(x2, DySample.InitialPositions(2, 4).data<float>().ToArray());
        Assert.Equal(x3, DySample.InitialPositions(3, 3).data<float>().ToArray());
    }

    [Fact]
    public void RealPlksr_ScaleOne_HasNoDySample_AsNeosr()
    {
        using var scope = NewDisposeScope();
        using var network = new RealPlksr(RealPlksrOptions.Notes with { DySample = true }, 1, 3);
        Assert.DoesNotContain(network.state_dict().Keys, k => k.StartsWith("to_img.", StringComparison.Ordinal));
        network.eval();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 1, 3, 6, 5 }, network.forward(rand(1, 3, 6, 5)).shape);
        using var plksr = new Plksr(PlksrOptions.Notes, 1, 3);
        plksr.eval();
        Assert.Equal(new long[] { 1, 3, 6, 5 }, plksr.forward(rand(1, 3, 6, 5)).shape);
    }

    [Theory]
    [InlineData(1, 3)] // one channel at x3: one offset group
    [InlineData(3, 2)]
    [InlineData(3, 3)]
    public void RealPlksr_DySample_Float32EqualsFloat64_AndChannelsLastEqualsNchw(int channels, int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(8);
        using var network = new RealPlksr(RealPlksrOptions.Notes with { DySample = true, LayerNorm = true }, scale, channels);
        using (no_grad())
        {
            // Offsets of about a pixel, so that the sampling positions move.
            foreach (var (name, parameter) in network.named_parameters())
                if (name is "to_img.offset.weight" or "to_img.scope.weight")
                    parameter.normal_(0, 0.5);
        }

        network.eval();
        using var noGrad = no_grad();
        var input = rand(2, channels, 9, 11);
        var single = network.forward(input);
        var channelsLast = network.forward(MemoryLayout.ToChannelsLast(input));
        network.to(float64);
        var exact = network.forward(input.to(float64));
        double error = Float64Reference.RelativeMaxError(single, exact);
        double layout = (channelsLast - single).abs().max().item<float>();
        output.WriteLine($"C = {channels} x{scale}: float32 vs float64 {error:E2}, channels-last vs NCHW {layout:E2}");
        Assert.Equal(new long[] { 2, channels, 9 * scale, 11 * scale }, single.shape);
        Assert.True(error < 1e-4, $"{error}");
        Assert.True(layout < 1e-5, $"{layout}");
    }

    /// <summary>
    /// The layer-normalisation variant has no global operation: its measured field gives tiles equal to the whole image
    /// (float64, to 1e-9 of the output), with DySample too; the group-norm variant is declared unbounded (TiledInferenceTests).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RealPlksr_LayerNormVariant_TilesExactly(bool dySample)
    {
        random.manual_seed(9);
        using var network = new RealPlksr(RealPlksrOptions.Notes with { LayerNorm = true, DySample = dySample, NumBlocks = 2 }, 2, 3);
        network.eval();
        var field = ReceptiveField.Of(network, CPU);
        Assert.True(field.Bounded);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        network.to(float64);
        var input = rand(new long[] { 1, 3, 29, 37 }, dtype: float64);
        var whole = network.forward(input);
        var tiled = TiledInference.Forward(network.forward, input, 2, 10, field.Radius);
        double error = (tiled - whole).abs().max().item<double>();
        double magnitude = Math.Max(1, whole.abs().max().item<double>());
        output.WriteLine($"DySample {dySample}: radius {field.Radius} LR px, max |tiled - whole| {error:E2} (outputs up to {magnitude:F2})");
        Assert.True(error < 1e-9 * magnitude, $"{error}");
    }

    [Fact]
    public void Mish_IsXTanhSoftplus()
    {
        using var scope = NewDisposeScope();
        var x = linspace(-30, 30, 1201, dtype: float64);
        using var mish = new MishActivation();
        var expected = x.mul(nn.functional.softplus(x).tanh());
        Assert.True((mish.forward(x) - expected).abs().max().item<double>() < 1e-12);
    }

    [Theory]
    [InlineData(SrArchitecture.Plksr, 2)]
    [InlineData(SrArchitecture.Plksr, 3)]
    [InlineData(SrArchitecture.Plksr, 4)]
    [InlineData(SrArchitecture.RealPlksr, 2)]
    [InlineData(SrArchitecture.RealPlksr, 3)]
    [InlineData(SrArchitecture.RealPlksr, 4)]
    public void NotesPreset_Forward_UpscalesShape(SrArchitecture architecture, int scale)
        => FamilyChecks.NotesForwardShapes(architecture, scale, 6, 7, seed: 3);
}
