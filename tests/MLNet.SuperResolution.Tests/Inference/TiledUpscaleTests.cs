using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Tests.Architectures;
using static MLNet.SuperResolution.Tests.Inference.InferenceTestNetworks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// Image-level tiling (<see cref="SrUpscaler.Upscale"/>), which writes each tile's 8-bit output straight into the
/// result: RGB networks give exactly the bytes of the float tiled output; Y networks (whose bicubic Cb/Cr are tiled
/// too) and self-ensembles stay within one level of whole-image inference.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class TiledUpscaleTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private RgbImage Photo(int width, int height)
    {
        using var image = Microsoft.ML.Data.MLImage.CreateFromFile(_images.Crop("coffee.png", width, height, 150, 100));
        return RgbImage.FromMLImage(image);
    }

    [Theory]
    [InlineData(SrArchitecture.Espcn, 2)]
    [InlineData(SrArchitecture.EdsrBaseline, 3)]
    public void Rgb_TiledUpscale_IsExactlyTheTiledFloatOutputRounded(SrArchitecture architecture, int scale)
    {
        using var network = Build(architecture, scale, SrPreset.Notes, SrChannels.Rgb);
        var photo = Photo(37, 29);
        var tiled = new SrUpscaler(architecture, scale, SrChannels.Rgb, network, CPU, new SrInferenceOptions { TileSize = 10 });
        var whole = new SrUpscaler(architecture, scale, SrChannels.Rgb, network, CPU);
        var actual = tiled.Upscale(photo);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var plan = tiled.TilePlan(29, 37)!.Value;
        // The upscaler runs channels-last on the CPU by default (same values to float rounding): so does the expected forward.
        Assert.True(tiled.Inference.UsesChannelsLast(TorchSharp.DeviceType.CPU));
        Tensor ChannelsLastForward(Tensor x) => network.forward(MemoryLayout.ToChannelsLast(x));
        var expected = ImageTensors.ToImage(TiledInference.Forward(ChannelsLastForward, ImageTensors.ToTensor(photo), scale, plan.TileSize, plan.Overlap));
        Assert.Equal(expected.Planes, actual.Planes);
        AssertWithinOneLevel(whole.Upscale(photo), actual, $"{architecture} x{scale}");
    }

    [Theory]
    [InlineData(SrArchitecture.Vdsr, 3, false)]
    [InlineData(SrArchitecture.Fsrcnn, 2, false)]
    [InlineData(SrArchitecture.Espcn, 4, true)]
    public void Y_AndSelfEnsemble_TiledUpscale_StaysWithinOneLevelOfWholeImage(SrArchitecture architecture, int scale, bool selfEnsemble)
    {
        using var network = Build(architecture, scale, SrPreset.Notes, SrChannels.Y);
        var photo = Photo(33, 26);
        var tiled = new SrUpscaler(architecture, scale, SrChannels.Y, network, CPU, new SrInferenceOptions { TileSize = 8, SelfEnsemble = selfEnsemble });
        var whole = new SrUpscaler(architecture, scale, SrChannels.Y, network, CPU, new SrInferenceOptions { SelfEnsemble = selfEnsemble });
        AssertWithinOneLevel(whole.Upscale(photo), tiled.Upscale(photo), $"{architecture} x{scale} Y{(selfEnsemble ? " self-ensemble" : "")}");
    }

    [Fact]
    public void AutomaticTiles_ShrinkAboveX2_SoHighResolutionActivationsStayBounded()
    {
        using var x2 = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        using var x4 = Build(SrArchitecture.Espcn, 4, SrPreset.Notes, SrChannels.Rgb);
        var budget = new SrInferenceOptions { MaxUntiledPixels = 40 * 40 };
        int radius2 = ReceptiveField.Of(x2, CPU).Radius, radius4 = ReceptiveField.Of(x4, CPU).Radius;
        // Context side: sqrt(budget) at x2, sqrt(budget) * 2/4 at x4; the core is the context less the overlap on both sides.
        Assert.Equal((40 - 2 * radius2, radius2), new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, x2, CPU, budget).TilePlan(50, 50));
        Assert.Equal((Math.Max(8, 20 - 2 * radius4), radius4), new SrUpscaler(SrArchitecture.Espcn, 4, SrChannels.Rgb, x4, CPU, budget).TilePlan(50, 50));
    }

    private void AssertWithinOneLevel(RgbImage expected, RgbImage actual, string what)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        int differing = 0, worst = 0;
        for (int i = 0; i < expected.Planes.Length; i++)
        {
            int difference = Math.Abs(expected.Planes[i] - actual.Planes[i]);
            worst = Math.Max(worst, difference);
            differing += difference > 0 ? 1 : 0;
        }

        output.WriteLine($"{what}: {differing} of {expected.Planes.Length} values differ from whole-image inference, by at most {worst}");
        Assert.True(worst <= 1, $"{what}: tiled differs from whole-image by {worst} levels");
        Assert.True(differing <= expected.Planes.Length / 100, $"{what}: {differing} values differ (rounding ties should be rare)");
    }
}
