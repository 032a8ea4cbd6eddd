using MLNet.SuperResolution.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

[Collection(TorchRngCollection.Name)]
public class NetworkTests
{
    public static TheoryData<SrArchitecture, int, int> AllConfigurations()
    {
        var data = new TheoryData<SrArchitecture, int, int>();
        foreach (var architecture in new[] { SrArchitecture.Bicubic, SrArchitecture.Srcnn, SrArchitecture.Fsrcnn, SrArchitecture.Espcn })
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
        foreach (int channels in new[] { 1, 3 })
            data.Add(architecture, scale, channels);
        return data;
    }

    public static TheoryData<SrArchitecture, int, int> LearntConfigurations()
    {
        var data = new TheoryData<SrArchitecture, int, int>();
        foreach (var architecture in new[] { SrArchitecture.Srcnn, SrArchitecture.Fsrcnn, SrArchitecture.Espcn })
        foreach (int scale in new[] { 2, 3, 4 })
        foreach (int channels in new[] { 1, 3 })
            data.Add(architecture, scale, channels);
        return data;
    }

    private static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());

    [Theory]
    [InlineData(SrArchitecture.Bicubic, 2, 0)]
    [InlineData(SrArchitecture.Srcnn, 2, 57_281)]
    [InlineData(SrArchitecture.Srcnn, 4, 57_281)]
    [InlineData(SrArchitecture.Fsrcnn, 2, 12_809)]
    [InlineData(SrArchitecture.Fsrcnn, 3, 12_809)]
    [InlineData(SrArchitecture.Fsrcnn, 4, 12_809)]
    [InlineData(SrArchitecture.Espcn, 2, 21_284)]
    [InlineData(SrArchitecture.Espcn, 3, 22_729)]
    [InlineData(SrArchitecture.Espcn, 4, 24_752)]
    public void ParameterCount_Y_MatchesPaperConfiguration(SrArchitecture architecture, int scale, long expected)
    {
        using var network = NetworkFactory.Create(architecture, scale, 1);
        Assert.Equal(expected, ParameterCount(network));
        Assert.Equal(scale, network.Scale);
        Assert.Equal(1, network.Channels);
    }

    [Theory]
    [MemberData(nameof(AllConfigurations))]
    public void Forward_UpscalesShape(SrArchitecture architecture, int scale, int channels)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        using var network = NetworkFactory.Create(architecture, scale, channels);
        network.eval();
        using var _ = no_grad();
        var output = network.forward(rand(2, channels, 12, 10));
        Assert.Equal(new long[] { 2, channels, 12 * scale, 10 * scale }, output.shape);
        Assert.Equal(float32, output.dtype);
        Assert.False(output.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(LearntConfigurations))]
    public void Backward_ReachesEveryParameter(SrArchitecture architecture, int scale, int channels)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        using var network = NetworkFactory.Create(architecture, scale, channels);
        network.train();
        var output = network.forward(rand(2, channels, 8, 6));
        nn.functional.mse_loss(output, rand_like(output)).backward();
        // Only that a gradient reaches each parameter: its float32 values are not checked here, because libtorch's
        // float32 convolution backward-data is wrong on some CPUs (see ConvolutionBackwardTests).
        foreach (var (name, parameter) in network.named_parameters())
        {
            Assert.True(parameter.grad is not null, $"{architecture} x{scale} C{channels}: no gradient for {name}");
            Assert.Equal(parameter.shape, parameter.grad!.shape);
        }
    }

    [Fact]
    public void Fsrcnn_StateDictKeys_MatchTheReferenceImplementation()
    {
        var expected = new List<string> { "first_part.0.weight", "first_part.0.bias", "first_part.1.weight" };
        for (int i = 0; i < 12; i += 2)
            expected.AddRange([$"mid_part.{i}.weight", $"mid_part.{i}.bias", $"mid_part.{i + 1}.weight"]);
        expected.AddRange(["last_part.weight", "last_part.bias"]);

        using var network = new Fsrcnn(FsrcnnOptions.Paper, 3, 1);
        var dict = network.state_dict();
        Assert.Equal(expected, dict.Keys);
        Assert.Equal(new long[] { 56, 1, 5, 5 }, dict["first_part.0.weight"].shape);
        Assert.Equal(new long[] { 56 }, dict["first_part.1.weight"].shape);
        Assert.Equal(new long[] { 12, 56, 1, 1 }, dict["mid_part.0.weight"].shape);
        Assert.Equal(new long[] { 12, 12, 3, 3 }, dict["mid_part.8.weight"].shape);
        Assert.Equal(new long[] { 56, 12, 1, 1 }, dict["mid_part.10.weight"].shape);
        Assert.Equal(new long[] { 56 }, dict["mid_part.11.weight"].shape);
        Assert.Equal(new long[] { 56, 1, 9, 9 }, dict["last_part.weight"].shape);
        Assert.Equal(new long[] { 1 }, dict["last_part.bias"].shape);
    }

    [Fact]
    public void Srcnn_And_Espcn_StateDictKeys_MatchTheReferenceImplementations()
    {
        using var srcnn = new Srcnn(SrcnnOptions.Paper, 2, 1);
        Assert.Equal(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias"], srcnn.state_dict().Keys);
        Assert.Equal(new long[] { 64, 1, 9, 9 }, srcnn.state_dict()["conv1.weight"].shape);

        using var espcn = new Espcn(EspcnOptions.Paper, 3, 1);
        Assert.Equal(
            ["first_part.0.weight", "first_part.0.bias", "first_part.2.weight", "first_part.2.bias", "last_part.0.weight", "last_part.0.bias"],
            espcn.state_dict().Keys);
        Assert.Equal(new long[] { 9, 32, 3, 3 }, espcn.state_dict()["last_part.0.weight"].shape);
    }

    [Fact]
    public void Factory_SameSeed_SameWeights()
    {
        random.manual_seed(42);
        using var a = NetworkFactory.Create(SrArchitecture.Fsrcnn, 2, 1);
        random.manual_seed(42);
        using var b = NetworkFactory.Create(SrArchitecture.Fsrcnn, 2, 1);
        foreach (var (name, p) in a.named_parameters())
            Assert.True(p.allclose(b.get_parameter(name)!, 0, 0), name);
    }

    [Theory]
    [InlineData(SrArchitecture.Fsrcnn, 5)]
    [InlineData(SrArchitecture.Espcn, 1)]
    [InlineData(SrArchitecture.Srcnn, 8)]
    [InlineData(SrArchitecture.Bicubic, 0)]
    public void Factory_UnsupportedScale_NamesArchitectureAndSupportedScales(SrArchitecture architecture, int scale)
    {
        var e = Assert.Throws<ArgumentException>(() => NetworkFactory.Create(architecture, scale, 1));
        Assert.Contains(architecture.ToString(), e.Message);
        Assert.Contains(string.Join(", ", NetworkFactory.SupportedScales(architecture)), e.Message);
        Assert.Equal("scale", e.ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void Factory_UnsupportedChannels_NamesTheSupportedOnes(int channels)
    {
        var e = Assert.Throws<ArgumentException>(() => NetworkFactory.Create(SrArchitecture.Espcn, 2, channels));
        Assert.Contains("Espcn", e.Message);
        Assert.Contains("1 (Y) or 3 (RGB)", e.Message);
        Assert.Equal("channels", e.ParamName);
    }

    [Fact]
    public void SupportedScales_AreTwoToFourForTheFirstNetworksAndBicubicAddsEight()
    {
        foreach (var architecture in new[] { SrArchitecture.Srcnn, SrArchitecture.Fsrcnn, SrArchitecture.Espcn })
            Assert.Equal([2, 3, 4], NetworkFactory.SupportedScales(architecture));
        Assert.Equal([2, 3, 4, 8], NetworkFactory.SupportedScales(SrArchitecture.Bicubic));
    }
}
