using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>EDSR baseline, EDSR and RCAN: the mean-shifted head / residual body / sub-pixel tail networks.</summary>
[Collection(TorchRngCollection.Name)]
public class EdsrFamilyTests(ITestOutputHelper output)
{
    private static readonly SrArchitecture[] Family = [SrArchitecture.EdsrBaseline, SrArchitecture.Edsr, SrArchitecture.Rcan];

    public static TheoryData<SrArchitecture, int> FamilyScales() => FamilyChecks.Scales(Family);

    // Counts for RGB from the layer shapes of sanghyun-son/EDSR-PyTorch edsr.py / rcan.py / common.py (3x3 convs
    // with biases; a conv a -> b costs 9ab + b; the MeanShifts are fixed and not counted). Upsampler: x2 one conv
    // F -> 4F, x4 two, x3 one conv F -> 9F.
    // EDSR baseline (F = 64, 16 blocks): head 3*64*9+64 = 1,792; blocks 16 * 2 * 36,928 = 1,181,696; body conv 36,928;
    //   tail conv 64*3*9+3 = 1,731; together 1,222,147. Upsampler x2 147,712 -> 1,369,859; x3 332,352 -> 1,554,499;
    //   x4 295,424 -> 1,517,571. The brief's reference counts: 1,369,859, 1,554,883 (x3: 384 more than the shapes
    //   give, 0.025%), 1,517,571.
    // EDSR (F = 256, 32 blocks): head 3*256*9+256 = 7,168; blocks 32 * 2 * 590,080 = 37,765,120; body conv 590,080;
    //   tail conv 256*3*9+3 = 6,915; together 38,369,283. Upsampler x2 2,360,320 -> 40,729,603; x3 5,310,720
    //   -> 43,680,003; x4 4,720,640 -> 43,089,923 (reference 40.7M, 43.7M, 43.1M).
    // RCAN (F = 64, 10 groups x 20 RCAB, reduction 16): RCAB 2 * 36,928 + channel attention (64*4+4) + (4*64+64)
    //   = 73,856 + 580 = 74,436; group 20 * 74,436 + 36,928 = 1,525,648; head 1,792 + groups 15,256,480 + body conv
    //   36,928 + tail conv 1,731 = 15,296,931. Upsampler x2 147,712 -> 15,444,643; x3 332,352 -> 15,629,283; x4
    //   295,424 -> 15,592,355 (reference about 15.4M at x2 and 15.6M at x4; x3 from the same shapes).
    [Theory]
    [InlineData(SrArchitecture.EdsrBaseline, 2, 1_369_859L, 1_369_859L)]
    [InlineData(SrArchitecture.EdsrBaseline, 3, 1_554_499L, 1_554_883L)]
    [InlineData(SrArchitecture.EdsrBaseline, 4, 1_517_571L, 1_517_571L)]
    [InlineData(SrArchitecture.Edsr, 2, 40_729_603L, 40_700_000L)]
    [InlineData(SrArchitecture.Edsr, 3, 43_680_003L, 43_700_000L)]
    [InlineData(SrArchitecture.Edsr, 4, 43_089_923L, 43_100_000L)]
    [InlineData(SrArchitecture.Rcan, 2, 15_444_643L, 15_400_000L)]
    [InlineData(SrArchitecture.Rcan, 3, 15_629_283L, 15_629_283L)]
    [InlineData(SrArchitecture.Rcan, 4, 15_592_355L, 15_600_000L)]
    public void PaperPreset_TrainableParameters_MatchReference(SrArchitecture architecture, int scale, long computed, long reference)
        => FamilyChecks.PaperParameterCount(output, architecture, scale, 3, computed, reference);

    [Theory]
    [InlineData(2, new[] { "0" })]
    [InlineData(3, new[] { "0" })]
    [InlineData(4, new[] { "0", "2" })]
    public void EdsrBaseline_StateDict_IsExactlyTheReferenceKeys(int scale, string[] upsamplerConvs)
    {
        using var network = NetworkFactory.Create(SrArchitecture.EdsrBaseline, scale, 3);
        var expected = new List<string> { "sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias", "head.0.weight", "head.0.bias" };
        for (int i = 0; i < 16; i++)
            expected.AddRange(["body." + i + ".body.0.weight", "body." + i + ".body.0.bias", "body." + i + ".body.2.weight", "body." + i + ".body.2.bias"]);
        expected.AddRange(["body.16.weight", "body.16.bias", "tail.1.weight", "tail.1.bias"]);
        expected.AddRange(upsamplerConvs.SelectMany(c => new[] { $"tail.0.{c}.weight", $"tail.0.{c}.bias" }));
        Assert.Equal(expected.Order(), network.state_dict().Keys.Order());
        Assert.Equal(new long[] { 64 * scale * scale / (scale == 4 ? 4 : 1), 64, 3, 3 }, network.state_dict()["tail.0.0.weight"].shape);
    }

    [Theory]
    [InlineData(SrArchitecture.EdsrBaseline, new[] { "head.0.weight", "body.0.body.0.weight", "body.15.body.2.bias", "body.16.weight", "tail.0.0.weight", "tail.1.bias" })]
    [InlineData(SrArchitecture.Edsr, new[] { "head.0.weight", "body.0.body.0.weight", "body.31.body.2.bias", "body.32.weight", "tail.0.0.weight", "tail.1.bias" })]
    [InlineData(SrArchitecture.Rcan, new[] { "head.0.weight", "body.0.body.0.body.0.weight", "body.0.body.0.body.2.bias", "body.0.body.0.body.3.conv_du.0.weight", "body.9.body.19.body.3.conv_du.2.bias", "body.9.body.20.weight", "body.10.weight", "tail.0.0.weight", "tail.1.bias" })]
    public void PaperPreset_StateDict_HasReferenceKeys_AndFixedMeanShifts(SrArchitecture architecture, string[] keys)
    {
        using var network = NetworkFactory.Create(architecture, 2, 3);
        var stateDict = network.state_dict();
        foreach (string key in keys)
            Assert.True(stateDict.ContainsKey(key), $"{architecture} lacks {key}");
        var parameters = network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (string key in new[] { "sub_mean.weight", "sub_mean.bias", "add_mean.weight", "add_mean.bias" })
        {
            Assert.True(parameters.ContainsKey(key), $"{architecture} lacks {key}");
            Assert.False(parameters[key].requires_grad, $"{architecture} {key} is trainable");
        }

        Assert.Equal(new long[] { 3, 3, 1, 1 }, stateDict["sub_mean.weight"].shape);
        Assert.Equal(-255 * 0.4488, stateDict["sub_mean.bias"][0].item<float>(), 3);
        Assert.Equal(255 * 0.4040, stateDict["add_mean.bias"][2].item<float>(), 3);
        Assert.All(parameters.Where(p => !p.Key.Contains("_mean.")), p => Assert.True(p.Value.requires_grad, p.Key));
    }

    [Fact]
    public void Rcan_ChannelAttention_ReducesBy16()
    {
        using var network = NetworkFactory.Create(SrArchitecture.Rcan, 2, 3, RcanOptions.Notes);
        var stateDict = network.state_dict();
        Assert.Equal(new long[] { 4, 64, 1, 1 }, stateDict["body.2.body.2.body.3.conv_du.0.weight"].shape);
        Assert.Equal(new long[] { 64, 4, 1, 1 }, stateDict["body.2.body.2.body.3.conv_du.2.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 3, 3 }, stateDict["body.2.body.3.weight"].shape);
        Assert.Equal(new long[] { 64, 64, 3, 3 }, stateDict["body.3.weight"].shape);
        Assert.False(stateDict.ContainsKey("body.4.weight"));
    }

    [Fact]
    public void Presets_HaveThePaperAndNotesHyperParameters()
    {
        Assert.Equal((256, 32, 0.1, 255.0), (EdsrOptions.Paper.NumFeat, EdsrOptions.Paper.NumBlock, EdsrOptions.Paper.ResScale, EdsrOptions.Paper.RgbRange));
        Assert.Equal((64, 8, 0.1), (EdsrOptions.Notes.NumFeat, EdsrOptions.Notes.NumBlock, EdsrOptions.Notes.ResScale));
        Assert.Equal((64, 16, 1.0, 255.0), (EdsrBaselineOptions.Paper.NumFeat, EdsrBaselineOptions.Paper.NumBlock, EdsrBaselineOptions.Paper.ResScale, EdsrBaselineOptions.Paper.RgbRange));
        Assert.Equal(8, EdsrBaselineOptions.Notes.NumBlock);
        Assert.Equal((64, 10, 20, 16), (RcanOptions.Paper.NumFeat, RcanOptions.Paper.NumGroup, RcanOptions.Paper.NumBlock, RcanOptions.Paper.Reduction));
        Assert.Equal((3, 3), (RcanOptions.Notes.NumGroup, RcanOptions.Notes.NumBlock));
        var json = NetworkFactory.SerializeOptions(EdsrOptions.Notes);
        Assert.Equal(EdsrOptions.Notes, NetworkFactory.DeserializeOptions(SrArchitecture.Edsr, json));
    }

    [Fact]
    public void InvalidOptions_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Edsr(EdsrBaselineOptions.Notes with { NumBlock = 0 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Edsr(EdsrOptions.Notes with { RgbRange = 0 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rcan(RcanOptions.Notes with { NumGroup = 0 }, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rcan(RcanOptions.Notes with { Reduction = 128 }, 2, 3));
        Assert.Throws<ArgumentException>(() => new Rcan(RcanOptions.Notes, 5, 3));
    }

    [Theory]
    [MemberData(nameof(FamilyScales))]
    public void NotesPreset_Forward_UpscalesShape(SrArchitecture architecture, int scale)
        => FamilyChecks.NotesForwardShapes(architecture, scale, 6, 7, seed: 3);

    [Theory]
    [InlineData(SrArchitecture.EdsrBaseline, 3)]
    [InlineData(SrArchitecture.Rcan, 3)]
    [InlineData(SrArchitecture.Edsr, 1)]
    public void MeanShifts_ReturnTheMeanColour_WhenTheTailIsZero(SrArchitecture architecture, int channels)
    {
        // With the last convolution zeroed the network outputs add_mean(0) / rgb_range: DIV2K's mean colour in [0, 1]
        // (its Y for one channel), which checks the range scaling and both shifts' signs.
        using var scope = NewDisposeScope();
        var options = NetworkFactory.Describe(architecture).Options(SrPreset.Notes);
        using var network = NetworkFactory.Create(architecture, 2, channels, options);
        network.eval();
        using var _ = no_grad();
        foreach (var (name, parameter) in network.named_parameters())
            if (name.StartsWith("tail.1."))
                parameter.zero_();
        var result = network.forward(rand(1, channels, 5, 5));
        double[] mean = channels == 3
            ? MeanShift.Div2kMean
            : [(16 + 65.481 * MeanShift.Div2kMean[0] + 128.553 * MeanShift.Div2kMean[1] + 24.966 * MeanShift.Div2kMean[2]) / 255];
        for (int c = 0; c < channels; c++)
        {
            Assert.Equal(mean[c], result[0, c].min().item<float>(), 5);
            Assert.Equal(mean[c], result[0, c].max().item<float>(), 5);
        }
    }
}
