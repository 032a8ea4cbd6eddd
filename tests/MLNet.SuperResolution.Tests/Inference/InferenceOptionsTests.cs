using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Tests.Architectures;
using static MLNet.SuperResolution.Tests.Inference.InferenceTestNetworks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>Inference options: clear errors for invalid values; saved and loaded with the model; older models still load.</summary>
[Collection(TorchRngCollection.Name)]
public sealed class InferenceOptionsTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    public static TheoryData<SrInferenceOptions, string> Invalid() => new()
    {
        { new SrInferenceOptions { TileSize = 3 }, "TileSize is 3; use at least 8" },
        { new SrInferenceOptions { TileSize = -16 }, "TileSize is -16" },
        { new SrInferenceOptions { TileOverlap = -1 }, "TileOverlap is -1; use 0 or more" },
        { new SrInferenceOptions { MaxUntiledPixels = 0 }, "MaxUntiledPixels is 0; use a positive pixel count" },
        { new SrInferenceOptions { Precision = (SrPrecision)7 }, "Precision is 7; use Float32 or BFloat16" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidOptionsAreRejectedWithWhatToDo(SrInferenceOptions inference, string message)
    {
        var ml = new MLContext(seed: 1);
        var applied = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 2, inference: inference));
        Assert.Contains(message, applied.Message);
        Assert.Equal("inference", applied.ParamName);

        var trained = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.Transforms.SuperResolution(new SuperResolutionOptions { Inference = inference }));
        Assert.Contains(message, trained.Message);
        Assert.Equal("Inference", trained.ParamName);
    }

    [Fact]
    public void NullInferenceOptionsAreRejected()
    {
        var error = Assert.Throws<ArgumentNullException>(() =>
            new MLContext(seed: 1).Transforms.SuperResolution(new SuperResolutionOptions { Inference = null! }));
        Assert.Contains("new SrInferenceOptions()", error.Message);
    }

    [Fact]
    public void OptionsAreCopiedNotShared()
    {
        var inference = new SrInferenceOptions { TileSize = 16 };
        var transformer = new MLContext(seed: 1).Transforms
            .ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 2, inference: inference)
            .Fit(LowRes(new MLContext(seed: 1), out _));
        inference.TileSize = 3;
        Assert.Equal(16, transformer.Inference.TileSize);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OptionsAreSavedWithTheModel(bool custom)
    {
        var ml = new MLContext(seed: 1);
        var network = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        var inference = custom
            ? new SrInferenceOptions { TileSize = 9, TileOverlap = 5, MaxUntiledPixels = 1000, SelfEnsemble = true, ChannelsLast = true, Precision = SrPrecision.BFloat16 }
            : new SrInferenceOptions();
        var upscaler = new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, network, CPU, inference);
        using var transformer = new SuperResolutionTransformer(ml, "SuperRes", "LowRes", upscaler,
            SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes), "cpu", "cpu", trainingSummary: null);
        var lowRes = LowRes(ml, out _);
        string path = Path.Combine(_images.Directory, "model.zip");
        ml.Model.Save(transformer, lowRes.Schema, path);
        using var loaded = (SuperResolutionTransformer)ml.Model.Load(path, out _);

        var saved = loaded.Inference;
        Assert.Equal((inference.TileSize, inference.TileOverlap, inference.MaxUntiledPixels, inference.SelfEnsemble, inference.ChannelsLast, inference.Precision),
            (saved.TileSize, saved.TileOverlap, saved.MaxUntiledPixels, saved.SelfEnsemble, saved.ChannelsLast, saved.Precision));
        Assert.Equal(TestImages.ReadImages(transformer.Transform(lowRes), "SuperRes")[0].Planes,
            TestImages.ReadImages(loaded.Transform(lowRes), "SuperRes")[0].Planes);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(true)]
    [InlineData(false)]
    public void ChannelsLastSetting_AutomaticOrForced_IsSavedWithTheModel(bool? channelsLast)
    {
        var ml = new MLContext(seed: 1);
        var network = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        var upscaler = new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, network, CPU, new SrInferenceOptions { ChannelsLast = channelsLast });
        using var transformer = new SuperResolutionTransformer(ml, "SuperRes", "LowRes", upscaler,
            SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes), "cpu", "cpu", trainingSummary: null);
        string path = Path.Combine(_images.Directory, $"model-{channelsLast?.ToString() ?? "auto"}.zip");
        ml.Model.Save(transformer, LowRes(ml, out _).Schema, path);
        using var loaded = (SuperResolutionTransformer)ml.Model.Load(path, out _);
        Assert.Equal(channelsLast, loaded.Inference.ChannelsLast);
    }

    [Fact]
    public void ChannelsLast_Automatic_IsOnForTheCpuOnly_AndForcedEitherWay()
    {
        Assert.Null(new SrInferenceOptions().ChannelsLast);
        Assert.True(new SrInferenceOptions().UsesChannelsLast(TorchSharp.DeviceType.CPU));
        Assert.False(new SrInferenceOptions().UsesChannelsLast(TorchSharp.DeviceType.CUDA));
        Assert.True(new SrInferenceOptions { ChannelsLast = true }.UsesChannelsLast(TorchSharp.DeviceType.CUDA));
        Assert.False(new SrInferenceOptions { ChannelsLast = false }.UsesChannelsLast(TorchSharp.DeviceType.CPU));
    }

    /// <summary>
    /// Fixtures/espcn-x2-format-10002.zip was saved by the previous format (0x00010002, before inference options):
    /// a tiny custom ESPCN and its output on Fixtures/coffee-12x10.png.
    /// </summary>
    [Fact]
    public void ModelsOfThePreviousFormatLoadWithDefaultOptions()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Inference", "Fixtures");
        var ml = new MLContext(seed: 1);
        using var loaded = (SuperResolutionTransformer)ml.Model.Load(Path.Combine(fixtures, "espcn-x2-format-10002.zip"), out _);
        var defaults = new SrInferenceOptions();
        var options = loaded.Inference;
        Assert.Equal((defaults.TileSize, defaults.TileOverlap, defaults.MaxUntiledPixels, defaults.SelfEnsemble),
            (options.TileSize, options.TileOverlap, options.MaxUntiledPixels, options.SelfEnsemble));
        Assert.Equal(new EspcnOptions { NumFeat1 = 8, NumFeat2 = 4 }, loaded.NetworkOptions);

        var data = TestImages.Paths(ml, new[] { Path.Combine(fixtures, "coffee-12x10.png") });
        var lowRes = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data).Transform(data);
        using var expected = MLImage.CreateFromFile(Path.Combine(fixtures, "espcn-x2-format-10002-coffee-12x10.png"));
        Assert.Equal(RgbImage.FromMLImage(expected).Planes, TestImages.ReadImages(loaded.Transform(lowRes), "SuperRes")[0].Planes);
    }

    private IDataView LowRes(MLContext ml, out string path)
    {
        path = _images.Crop("coffee.png", 12, 10, 200, 150);
        var data = TestImages.Paths(ml, new[] { path });
        return ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data).Transform(data);
    }
}
