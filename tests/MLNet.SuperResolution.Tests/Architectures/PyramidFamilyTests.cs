using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>RED-Net and LapSRN: parameter counts against their references, key names, shapes, LapSRN's pyramid loss.</summary>
[Collection(TorchRngCollection.Name)]
public sealed class PyramidFamilyTests
{
    private readonly ITestOutputHelper _output;

    public PyramidFamilyTests(ITestOutputHelper output) => _output = output;

    // RED30 with 128 features, one channel (yjn870/REDNet-pytorch REDNet30 layer shapes, num_features = 128):
    //   conv_layers.0        1*128*9 + 128     =     1,280
    //   conv_layers.1..14    14 * (128*128*9 + 128) = 2,066,176
    //   deconv_layers.0..13  14 * (128*128*9 + 128) = 2,066,176
    //   deconv_layers.14     128*1*9 + 1       =     1,153
    //   total                                    4,134,785 (the issue's ~4.1M; 64 features give ~1.04M)
    private const long RedReferenceY = 4_134_785;

    // yjn870/REDNet-pytorch REDNet30 exactly as published (num_features = 64, RGB):
    //   1,792 + 14 * 36,928 + 14 * 36,928 + 1,731 = 1,037,507
    private const long RedReferenceDefaultRgb = 1_037_507;

    // twtygqyy/pytorch-LapSRN lapsrn.py, no biases, one channel:
    //   conv_input 1*64*9 = 576; per level: 10 * 64*64*9 (368,640) + convT 64*64*16 (65,536) + convt_I 1*1*16 (16)
    //   + convt_R 64*1*9 (576) = 434,768. x2 = 576 + 434,768; x4 = 576 + 2 * 434,768 (the reference's Net); x8 = 576 + 3 * 434,768.
    [Theory]
    [InlineData(SrArchitecture.Red, 2, RedReferenceY)]
    [InlineData(SrArchitecture.Red, 3, RedReferenceY)]
    [InlineData(SrArchitecture.Red, 4, RedReferenceY)]
    [InlineData(SrArchitecture.LapSrn, 2, 435_344)]
    [InlineData(SrArchitecture.LapSrn, 4, 870_112)]
    [InlineData(SrArchitecture.LapSrn, 8, 1_304_880)]
    public void PaperPreset_ParameterCount_MatchesReference(SrArchitecture architecture, int scale, long reference)
    {
        var descriptor = NetworkFactory.Describe(architecture);
        int channels = descriptor.PaperChannels.NetworkChannels();
        using var network = NetworkFactory.Create(architecture, scale, channels, descriptor.Options(SrPreset.Paper));
        _output.WriteLine($"{architecture} x{scale} C{channels}: ours {network.TrainableParameterCount:N0}, reference {reference:N0}");
        Assert.Equal(reference, network.TrainableParameterCount);
    }

    [Fact]
    public void Red_WithTheReferenceDefaults_HasItsExactCount()
    {
        using var network = NetworkFactory.Create(SrArchitecture.Red, 2, 3, RedOptions.Paper with { NumFeat = 64 });
        _output.WriteLine($"Red 64 features RGB: ours {network.TrainableParameterCount:N0}, yjn870 REDNet30() {RedReferenceDefaultRgb:N0}");
        Assert.Equal(RedReferenceDefaultRgb, network.TrainableParameterCount);
    }

    [Fact]
    public void Red_StateDictKeys_FollowTheReference()
    {
        using var network = NetworkFactory.Create(SrArchitecture.Red, 2, 1, RedOptions.Paper);
        var keys = network.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "conv_layers.0.0.weight", "conv_layers.0.0.bias", "conv_layers.14.0.weight",
            "deconv_layers.0.0.weight", "deconv_layers.13.0.bias", "deconv_layers.14.weight", "deconv_layers.14.bias",
        ];
        foreach (var key in expected)
            Assert.Contains(key, keys);
        Assert.Equal(4 * 15, keys.Count);
        Assert.Equal(new long[] { 128, 1, 3, 3 }, network.state_dict()["deconv_layers.14.weight"].shape);
    }

    [Fact]
    public void LapSrn_StateDictKeys_FollowTheReference()
    {
        using var network = NetworkFactory.Create(SrArchitecture.LapSrn, 4, 1, LapSrnOptions.Paper);
        var dict = network.state_dict();
        foreach (var key in dict.Keys)
            _output.WriteLine($"{key} [{string.Join(", ", dict[key].shape)}]");
        string[] expected =
        [
            "conv_input.weight", "convt_I1.weight", "convt_R1.weight", "convt_F1.0.cov_block.0.weight",
            "convt_F1.0.cov_block.18.weight", "convt_F1.0.cov_block.20.weight",
            "convt_I2.weight", "convt_R2.weight", "convt_F2.0.cov_block.20.weight",
        ];
        foreach (var key in expected)
            Assert.Contains(key, dict.Keys);
        Assert.Equal(1 + 2 * (1 + 1 + 11), dict.Count);
        Assert.DoesNotContain(dict.Keys, k => k.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Equal(new long[] { 1, 1, 4, 4 }, dict["convt_I1.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 4, 4 }, dict["convt_F1.0.cov_block.20.weight"].shape);
    }

    public static TheoryData<SrArchitecture, int, int> NotesConfigurations()
    {
        var data = new TheoryData<SrArchitecture, int, int>();
        foreach (var architecture in new[] { SrArchitecture.Red, SrArchitecture.LapSrn })
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
        foreach (int channels in new[] { 1, 3 })
            data.Add(architecture, scale, channels);
        return data;
    }

    [Theory]
    [MemberData(nameof(NotesConfigurations))]
    public void NotesPreset_Forward_UpscalesShape(SrArchitecture architecture, int scale, int channels)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var options = NetworkFactory.Describe(architecture).Options(SrPreset.Notes);
        using var network = NetworkFactory.Create(architecture, scale, channels, options);
        network.eval();
        using var _ = no_grad();
        var output = network.forward(rand(2, channels, 6, 5));
        Assert.Equal(new long[] { 2, channels, 6 * scale, 5 * scale }, output.shape);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void LapSrn_TrainingLoss_SumsEveryLevel(int scale)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(12);
        using var network = NetworkFactory.Create(SrArchitecture.LapSrn, scale, 1, LapSrnOptions.Notes);
        network.train();
        var lowRes = rand(2, 1, 4, 5);
        var highRes = rand(2, 1, 4 * scale, 5 * scale);
        var levels = new List<long[]>();
        var loss = network.TrainingLoss(lowRes, highRes, (output, target) =>
        {
            Assert.Equal(output.shape, target.shape);
            levels.Add(output.shape);
            return output.sub(target).square().add(1e-6).sqrt().mean();
        });
        Assert.Equal(0, loss.dim());
        Assert.True(loss.isfinite().item<bool>());
        Assert.Equal((int)Math.Log2(scale), levels.Count);
        Assert.Equal(new long[] { 2, 1, 8, 10 }, levels[0]);
        loss.backward();
        Assert.All(network.parameters(), p => Assert.NotNull(p.grad));

        // The last term is the plain loss of forward's output; the coarser levels add to it.
        using (no_grad())
        {
            var final = network.forward(lowRes).sub(highRes).square().add(1e-6).sqrt().mean().item<float>();
            if (scale == 2)
                Assert.Equal(final, loss.item<float>(), 1e-5);
            else
                Assert.True(loss.item<float>() > final);
        }
    }

    [Fact]
    public void LapSrn_ImageBranchX2_MatchesFloat64()
    {
        // oneDNN's float32 1 -> 1 channel, stride-2 transposed convolution is wrong on the development CPUs; the image
        // branch (convt_I1) must agree with a float64 computation of the same layer.
        using var scope = NewDisposeScope();
        random.manual_seed(13);
        using var network = NetworkFactory.Create(SrArchitecture.LapSrn, 2, 1, LapSrnOptions.Paper);
        var branch = network.named_modules().Single(m => m.name == "convt_I1").module;
        var weight = network.state_dict()["convt_I1.weight"];
        using (no_grad())
            weight.copy_(randn_like(weight));   // a generic kernel, not only the bilinear start
        var input = rand(2, 1, 17, 13);
        using var _ = no_grad();
        var actual = ((nn.Module<Tensor, Tensor>)branch).forward(input);
        var expected = nn.functional.conv_transpose2d(input.to(float64), weight.to(float64), null, [2, 2], [1, 1], [0, 0], [1, 1], 1);
        var plain = nn.functional.conv_transpose2d(input, weight, null, [2, 2], [1, 1], [0, 0], [1, 1], 1);
        double error = (actual.to(float64) - expected).abs().max().item<double>();
        double plainError = (plain.to(float64) - expected).abs().max().item<double>();
        _output.WriteLine($"convt_I1 max error vs float64: {error:E2} (plain float32 conv_transpose2d: {plainError:E2})");
        Assert.Equal(new long[] { 2, 1, 34, 26 }, actual.shape);
        Assert.True(error < 1e-5, $"max error {error}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TorchBicubicDownscale_MatchesThe8BitDownscaleWithinOneLevel(int factor)
    {
        const int width = 24, height = 36;
        var planes = new byte[3 * width * height];
        new Random(100 + factor).NextBytes(planes);
        var image = new RgbImage(width, height, planes);

        var eightBit = MatlabImresize.Downscale(image, factor);
        using var input = ImageTensors.ToTensor(image);
        using var result = TorchBicubic.Downscale(input, factor);
        Assert.Equal(new long[] { 1, 3, height / factor, width / factor }, result.shape);
        var actual = result.data<float>().ToArray();
        double max = 0;
        for (int i = 0; i < actual.Length; i++)
            max = Math.Max(max, Math.Abs(actual[i] * 255.0 - eightBit.Planes[i]));
        _output.WriteLine($"x1/{factor}: max difference {max:F3} levels");
        Assert.True(max <= 1.0, $"max difference {max} levels");

        using var doubled = TorchBicubic.Downscale(input.to(float64), factor);
        Assert.Equal(float64, doubled.dtype);
    }
}
