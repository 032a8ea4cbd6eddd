using MLNet.SuperResolution.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// SPAN: the reference's keys and parameter counts, the reparameterised eval-mode path (computed from the training
/// branches, whatever <c>eval_conv</c> holds) against the training-mode path, and the options.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class SpanTests(ITestOutputHelper output)
{
    private static readonly string[] Conv3XCs =
        ["conv_1", .. Enumerable.Range(1, 6).SelectMany(b => Enumerable.Range(1, 3).Select(c => $"block_{b}.c{c}_r")), "conv_2"];

    // From hongyuanyu/SPAN basicsr/archs/span_arch.py, SPAN(3, 3, feature_channels=48, upscale=s), counted with PyTorch
    // 1.13: sum(p.numel() for p in model.parameters() if p.requires_grad) (eval_conv is not trainable there either).
    [Theory]
    [InlineData(2, 1_824_900L)]
    [InlineData(3, 1_831_395L)]
    [InlineData(4, 1_840_488L)]
    public void PaperPreset_TrainableParameters_MatchTheReference(int scale, long reference)
        => FamilyChecks.PaperParameterCount(output, SrArchitecture.Span, scale, 3, reference, reference);

    /// <summary>
    /// All parameters, eval_conv included: the reference's 2,236,728 at x4; without the training branches (sk, conv)
    /// 426,288, the paper's count.
    /// </summary>
    [Fact]
    public void PaperPreset_AllParameters_AndTheReparameterisedCount_MatchTheReference()
    {
        using var network = NetworkFactory.Create(SrArchitecture.Span, 4, 3);
        var stateDict = network.state_dict();
        Assert.Equal(2_236_728L, stateDict.Values.Sum(t => t.numel()));
        Assert.Equal(426_288L, stateDict.Where(kv => !kv.Key.Contains(".sk.") && !kv.Key.Contains(".conv.")).Sum(kv => kv.Value.numel()));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void StateDict_IsExactlyTheReferenceKeys(int scale)
    {
        using var network = NetworkFactory.Create(SrArchitecture.Span, scale, 3);
        var expected = Conv3XCs.SelectMany(prefix => new[] { "sk", "conv.0", "conv.1", "conv.2", "eval_conv" }
                .SelectMany(layer => new[] { $"{prefix}.{layer}.weight", $"{prefix}.{layer}.bias" }))
            .Concat(["conv_cat.weight", "conv_cat.bias", "upsampler.0.weight", "upsampler.0.bias"]);
        var stateDict = network.state_dict();
        Assert.Equal(expected.Order(), stateDict.Keys.Order());
        Assert.Equal(new long[] { 6, 3, 1, 1 }, stateDict["conv_1.conv.0.weight"].shape);
        Assert.Equal(new long[] { 96, 6, 3, 3 }, stateDict["conv_1.conv.1.weight"].shape);
        Assert.Equal(new long[] { 48, 96, 1, 1 }, stateDict["conv_1.conv.2.weight"].shape);
        Assert.Equal(new long[] { 48, 3, 3, 3 }, stateDict["conv_1.eval_conv.weight"].shape);
        Assert.Equal(new long[] { 96, 96, 3, 3 }, stateDict["block_6.c3_r.conv.1.weight"].shape);
        Assert.Equal(new long[] { 48, 192, 1, 1 }, stateDict["conv_cat.weight"].shape);
        Assert.Equal(new long[] { 3 * scale * scale, 48, 3, 3 }, stateDict["upsampler.0.weight"].shape);
        var parameters = network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(parameters, p => Assert.Equal(!p.Key.Contains(".eval_conv."), p.Value.requires_grad));
    }

    /// <summary>
    /// Eval mode runs one 3x3 convolution per Conv3XC, composed from the training branches on every forward as the
    /// reference does: the same result as training mode (the border included), whatever eval_conv held, and entering
    /// eval mode writes the composed kernel into eval_conv.
    /// </summary>
    [Theory]
    [InlineData(16, 2)]
    [InlineData(52, 3)] // 104-channel middles: the oneDNN input-padding path
    public void EvalMode_EqualsTrainingMode_AndIgnoresTheStoredEvalConv(int features, int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var network = new Span(new SpanOptions { FeatureChannels = features }, scale, 3);
        var input = rand(2, 3, 9, 7);
        using var noGrad = no_grad();
        network.train();
        var training = network.forward(input);
        foreach (var (name, parameter) in network.named_parameters())
            if (name.Contains(".eval_conv."))
                parameter.normal_(0, 10);
        network.eval();
        var reparameterised = network.forward(input);
        double difference = (reparameterised - training).abs().max().item<float>();
        double magnitude = training.abs().max().item<float>();
        output.WriteLine($"F = {features} x{scale}: max |eval - train| = {difference:E2} (outputs up to {magnitude:F2})");
        Assert.True(difference < 1e-5 * Math.Max(1, magnitude), $"{difference}");

        // eval() refreshed eval_conv: garbage written into it now does not survive another eval().
        var stateDict = network.state_dict();
        var weight = stateDict["block_3.c2_r.eval_conv.weight"].clone();
        stateDict["block_3.c2_r.eval_conv.weight"].normal_(0, 10);
        network.train();
        network.eval();
        Assert.True(stateDict["block_3.c2_r.eval_conv.weight"].allclose(weight), "eval() did not rewrite eval_conv");
        Assert.True(reparameterised.allclose(network.forward(input)));
    }

    [Fact]
    public void EvalConv_IsTheComposedKernel_OfTheTrainingBranches()
    {
        // After eval(), eval_conv applied as a plain 3x3 convolution (zero padding 1) equals the training branches, border included.
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        using var conv = new Conv3XC(5, 7);
        var x = randn(1, 5, 8, 6);
        using var noGrad = no_grad();
        conv.train();
        var branches = conv.forward(x);
        conv.eval();
        var stateDict = conv.state_dict();
        var single = nn.functional.conv2d(x, stateDict["eval_conv.weight"], stateDict["eval_conv.bias"], padding: [1, 1]);
        double difference = (single - branches).abs().max().item<float>();
        Assert.True(difference < 1e-5, $"{difference}");
    }

    [Fact]
    public void ScaleOne_Works_AndIsOffered()
    {
        // The reference runs at x1 too (a restoration network): the image keeps its size.
        using var scope = NewDisposeScope();
        using var network = new Span(SpanOptions.Notes, 1, 3);
        network.eval();
        using var noGrad = no_grad();
        Assert.Equal(new long[] { 1, 3, 6, 5 }, network.forward(rand(1, 3, 6, 5)).shape);
        Assert.Equal([1, 2, 3, 4], NetworkFactory.SupportedScales(SrArchitecture.Span));
    }

    [Fact]
    public void Presets_AndInvalidOptions()
    {
        Assert.Equal((48, 255.0), (SpanOptions.Paper.FeatureChannels, SpanOptions.Paper.ImgRange));
        Assert.Equal(16, SpanOptions.Notes.FeatureChannels);
        var json = NetworkFactory.SerializeOptions(SpanOptions.Paper with { FeatureChannels = 52 });
        Assert.Equal(SpanOptions.Paper with { FeatureChannels = 52 }, NetworkFactory.DeserializeOptions(SrArchitecture.Span, json));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Span(SpanOptions.Notes with { FeatureChannels = 0 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Span(SpanOptions.Notes with { ImgRange = 0 }, 2, 3));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void NotesPreset_Forward_UpscalesShape(int scale) => FamilyChecks.NotesForwardShapes(SrArchitecture.Span, scale, 6, 7, seed: 3);
}
