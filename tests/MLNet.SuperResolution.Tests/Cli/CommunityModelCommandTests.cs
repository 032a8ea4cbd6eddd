using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Tests.Weights;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>
/// A downloaded model file used as users use it, with nothing said about what it is: <c>sr inspect</c>, <c>sr upscale
/// --model FILE.pth</c> (x1 keeps the size), <c>sr import FILE</c> and <c>sr eval --model FILE</c>; the library's
/// <c>SrModelFile.Inspect</c>, <c>SuperResolutionUpscaler.FromModelFile</c> and <c>ApplySuperResolutionModel(output,
/// input, modelPath)</c>; and every hostile file refused by the tool quickly, naming the file, running nothing.
/// </summary>
public sealed class CommunityModelCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private static string Probe(string name) => CommunityProbe.Named(name).PathOf(CommunityProbe.Named(name).File);

    private (int ExitCode, string Stdout, string Stderr) Sr(params string[] arguments) => SrTool.Run(output, arguments);

    [Fact]
    public void Inspect_SaysWhatTheFileIs_AsTextAndJson()
    {
        var (code, stdout, _) = Sr("inspect", Probe("esrgan-basicsr-x2"));
        Assert.Equal(0, code);
        Assert.Contains("Esrgan (Real-ESRGAN / BasicSR layout)", stdout);
        Assert.Contains("x2", stdout);
        Assert.Contains("under 'params'", stdout);
        Assert.Contains("keys prefixed 'module.'", stdout);

        (code, stdout, _) = Sr("inspect", Probe("compact-x2-bf16"), "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("Compact", root.GetProperty("architecture").GetString());
        Assert.Equal(2, root.GetProperty("scale").GetInt32());
        Assert.Equal("bfloat16", root.GetProperty("storedDtype").GetString());
        Assert.Equal(8, root.GetProperty("hyperParameters").GetProperty("NumFeat").GetInt32());
        Assert.Equal("PRelu", root.GetProperty("hyperParameters").GetProperty("Activation").GetString());
        var info = SrModelFile.Inspect(Probe("compact-x2-bf16"));
        Assert.Equal(info.ParameterCount, root.GetProperty("parameters").GetInt64());
    }

    [Theory]
    [InlineData("esrgan-basicsr-x4", 4)]
    [InlineData("compact-x1", 1)]
    [InlineData("span-x2", 2)]
    [InlineData("realplksr-x3-dysample", 3)]
    [InlineData("esrgan-oldarch-x1-gray", 1)]
    public void Upscale_WithAWeightsFile_AndNoOtherOption_GivesTheLibrarysResult(string probe, int scale)
    {
        string input = _images.Crop("coffee.png", 20, 14, 200, 150), result = Path.Combine(_images.Directory, "out.png");

        var (code, stdout, _) = Sr("upscale", input, "--model", Probe(probe), "-o", result);

        Assert.Equal(0, code);
        Assert.Contains($"x{scale} with ", stdout);
        using var written = MLImage.CreateFromFile(result);
        Assert.Equal((20 * scale, 14 * scale), (written.Width, written.Height));
        using var upscaler = SuperResolutionUpscaler.FromModelFile(Probe(probe));
        using var source = MLImage.CreateFromFile(input);
        using var expected = upscaler.Upscale(source);
        // Byte for byte but for rare rounding edges: libtorch does not promise bitwise-equal results from one process to
        // the next (RealPLKSR's whole-image group normalisation, channels-last on two threads, has moved a few bytes by
        // one level in about one sr process of a hundred, while runs inside one process agreed). A different network,
        // scale, channel mode or option moves most bytes by far more.
        PixelAgreement.AssertWithinOneLevel(expected.Pixels.ToArray(), written.Pixels.ToArray(), 0.01);
    }

    [Fact]
    public void Import_DetectsTheNetwork_AndTheModelZipLoadsWithPlainModelLoad()
    {
        string zip = Path.Combine(_images.Directory, "esrgan.zip");
        var (code, stdout, _) = Sr("import", Probe("esrgan-oldarch-x2-fp16"), "-o", zip, "--no-check"); // random weights
        Assert.Equal(0, code);
        Assert.Contains("Imported Esrgan x2", stdout);

        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(zip, out _);
        var rows = TestImages.Paths(ml, [_images.Crop("chelsea.png", 16, 12, 150, 80)]);
        var upscaled = TestImages.ReadImages(model.Transform(ml.Transforms.LoadImages("LowRes", null, "Path").Fit(rows).Transform(rows)), "SuperRes")[0];
        Assert.Equal((32, 24), (upscaled.Width, upscaled.Height));
        var info = SrModelFile.Inspect(zip);
        Assert.Equal(SrArchitecture.Esrgan, info.Architecture);
        Assert.Equal("ML.NET model zip", info.Container);
        Assert.Equal(SrModelFile.Inspect(Probe("esrgan-oldarch-x2-fp16")).ParameterCount, info.ParameterCount);

        (code, _, var stderr) = Sr("import", Probe("esrgan-oldarch-x2-fp16"), "--scale", "4", "-o", zip);
        Assert.Equal(1, code);
        Assert.Contains("upscales x2", stderr);
    }

    [Fact]
    public void Eval_PrintsTheProtocolTable_ForAWeightsFile()
    {
        string folder = Path.Combine(_images.Directory, "hr");
        Directory.CreateDirectory(folder);
        File.Copy(_images.Crop("coffee.png", 48, 40, 200, 150), Path.Combine(folder, "coffee.png"));

        var (code, stdout, _) = Sr("eval", "--model", Probe("compact-x4"), folder, "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("Compact", json.RootElement.GetProperty("architecture").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("scale").GetInt32());
        Assert.Single(json.RootElement.GetProperty("images").EnumerateArray());
    }

    [Fact]
    public void ThePipeline_AppliesAWeightsFile_ByPathAlone()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestImages.Paths(ml, [_images.Crop("astronaut.png", 18, 14, 100, 100)]);
        var images = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(rows).Transform(rows);
        using var model = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", Probe("plksr-x2-dccm")).Fit(images);
        Assert.Equal((SrArchitecture.Plksr, 2), (model.Architecture, model.Scale));
        Assert.Equal((36, 28), (TestImages.ReadImages(model.Transform(images), "SuperRes")[0].Width, TestImages.ReadImages(model.Transform(images), "SuperRes")[0].Height));
    }

    public static TheoryData<string> HostileFiles() => new(CommunityProbe.Hostile.Select(h => h.File));

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void EveryHostileFile_IsRefusedByTheTool_Quickly_NamingTheFile_RunningNothing(string name)
    {
        const string Marker = "/tmp/mlnet-sr-hostile-marker";
        File.Delete(Marker);
        string file = Path.Combine(CommunityProbe.Folder, "hostile", name);
        string input = _images.Crop("coffee.png", 12, 10, 200, 150);
        var clock = Stopwatch.StartNew();

        var upscale = Sr("upscale", input, "--model", file, "-o", Path.Combine(_images.Directory, "out.png"));
        var inspect = Sr("inspect", file);

        Assert.NotEqual(0, upscale.ExitCode);
        Assert.NotEqual(0, inspect.ExitCode);
        Assert.Contains(file, upscale.Stderr);
        Assert.Contains(file, inspect.Stderr);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 30);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public void FineTuning_FromADetectedFile_TrainsItsNetwork_StartingFromItsWeights()
    {
        string probe = Probe("esrgan-oldarch-x2-fp16"); // the original ESRGAN layout, float16: renamed onto BasicSR's keys
        var ml = new MLContext(seed: 1);
        var highRes = TestImages.Paths(ml, _images.TrainingSet(size: 24));
        var pairs = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes")).Fit(highRes).Transform(highRes);

        using var tuned = ml.Transforms.SuperResolution(new SuperResolutionOptions
        {
            InitialWeightsPath = probe, Epochs = 1, PatchesPerImage = 2, BatchSize = 2, PatchSize = 16, LearningRate = 1e-9,
        }).Fit(pairs);

        Assert.Equal((SrArchitecture.Esrgan, 2), (tuned.Architecture, tuned.Scale));
        Assert.Equal(SrModelFile.Inspect(probe).Options, tuned.NetworkOptions);
        // A learning rate of 1e-9 leaves the file's weights: the tuned network upscales as the file does.
        using var upscaler = SuperResolutionUpscaler.FromModelFile(probe);
        var image = TestImages.ReadImages(pairs, "LowRes")[0];
        using var fromFile = upscaler.Upscale(image.ToMLImage());
        using var fromTuned = SuperResolutionUpscaler.FromTransformer(tuned).Upscale(image.ToMLImage());
        var difference = fromFile.Pixels.ToArray().Zip(fromTuned.Pixels.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.InRange(difference, 0, 1);

        var (code, stdout, _) = Sr("train", Path.GetDirectoryName(TestImages.Sample("coffee.png"))!, "--init", probe, "--epochs", "1", "--patches-per-image", "1",
            "--batch", "2", "--patch", "16", "--threads", "1", "--no-progress", "--max-pixels", "400000", "--skip-bad-images", "-o", Path.Combine(_images.Directory, "tuned.zip"));
        Assert.Equal(0, code);
        Assert.Contains("Training Esrgan (original ESRGAN layout of", stdout);
        Assert.Equal(SrArchitecture.Esrgan, SrModelFile.Inspect(Path.Combine(_images.Directory, "tuned.zip")).Architecture);
    }

    [Theory]
    [InlineData("espcn.pth")]
    [InlineData("espcn.safetensors")]
    public void AZooNetworksExportedWeights_OpenWithNothingSaid(string name)
    {
        // ESPCN's keys do not say its scale, channels or options: the file's description does.
        var ml = new MLContext(seed: 1);
        var highRes = TestImages.Paths(ml, _images.TrainingSet(size: 24));
        var pairs = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 3, "HighRes")).Fit(highRes).Transform(highRes);
        using var trained = ml.Transforms.SuperResolution(new SuperResolutionOptions
        {
            Architecture = SrArchitecture.Espcn, Preset = SrPreset.Notes, Channels = SrChannels.Y, Scale = 3, Epochs = 1, PatchesPerImage = 2, BatchSize = 2, PatchSize = 12,
            NetworkOptions = MLNet.SuperResolution.Architectures.EspcnOptions.Notes with { NumFeat1 = 24 },
        }).Fit(pairs);
        string weights = Path.Combine(_images.Directory, name);
        trained.SaveWeights(weights);

        var info = SrModelFile.Inspect(weights);
        Assert.Equal((SrArchitecture.Espcn, 3, SrChannels.Y, "saved by this library"), (info.Architecture, info.Scale, info.Channels, info.Variant));
        Assert.Equal(trained.NetworkOptions, info.Options);
        using var upscaler = SuperResolutionUpscaler.FromModelFile(weights);
        var image = TestImages.ReadImages(pairs, "LowRes")[0].ToMLImage();
        using var expected = SuperResolutionUpscaler.FromTransformer(trained).Upscale(image);
        using var actual = upscaler.Upscale(image);
        Assert.Equal(expected.Pixels.ToArray(), actual.Pixels.ToArray());
    }

    [Theory]
    [InlineData("upscale", "--channels", "Gray")]
    [InlineData("upscale", "--preset", "Notes")]
    [InlineData("upscale", "--weights", "")]
    [InlineData("import", "--channels", "Y")]
    [InlineData("import", "--preset", "Paper")]
    public void OptionsOfANamedNetwork_WithADetectedFile_AreRefused_NotIgnored(string command, string option, string value)
    {
        // The file says its network: --channels, --preset or --weights would be ignored, so they are an error.
        string input = _images.Crop("coffee.png", 12, 10), result = Path.Combine(_images.Directory, command == "import" ? "out.zip" : "out.png");
        string probe = Probe("compact-x4");
        var arguments = command == "import" ? new List<string> { "import", probe } : ["upscale", input, "--model", probe];
        arguments.AddRange([option, value.Length == 0 ? probe : value, "-o", result]);

        var (code, stdout, stderr) = Sr(arguments.ToArray());

        Assert.NotEqual(0, code);
        Assert.Contains($"{option} describes a network named by --arch", stdout + stderr);
        Assert.False(File.Exists(result));
    }

    [Fact]
    public void AGrayscaleModel_SeesAGrayImagesOwnValues_AndKeepsItGray()
    {
        // A 1-channel community model was trained on grayscale images (full-range luma), not on the protocol's
        // studio-swing Y: a gray pixel v must reach it as v / 255, and its output must come back as gray.
        string probe = Probe("esrgan-oldarch-x1-gray");
        Assert.Equal(SrChannels.Gray, SrModelFile.Inspect(probe).Channels);
        const int width = 23, height = 17;
        var gray = new byte[width * height];
        new Random(5).NextBytes(gray);
        using var image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Rgba32, gray.SelectMany(v => new byte[] { v, v, v, 255 }).ToArray());

        using var upscaler = SuperResolutionUpscaler.FromModelFile(probe);
        using var result = upscaler.Upscale(image);

        using var scope = NewDisposeScope();
        using var network = MLNet.SuperResolution.Weights.ModelDetection.Detect(MLNet.SuperResolution.Weights.WeightsFile.Open(probe)).CreateNetwork();
        using var noGrad = no_grad();
        var expected = (network.forward(tensor(gray.Select(v => v / 255f).ToArray(), new long[] { 1, 1, height, width })).clamp(0, 1) * 255)
            .round().flatten().data<float>().ToArray();
        Assert.Equal(MLPixelFormat.Bgra32, result.PixelFormat);
        var pixels = result.Pixels.ToArray();
        int worst = 0, off = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int b = pixels[4 * i], g = pixels[4 * i + 1], r = pixels[4 * i + 2];
            Assert.True(Math.Abs(r - g) <= 1 && Math.Abs(g - b) <= 1, $"pixel {i} is not gray: {r},{g},{b}");
            int error = (int)Math.Abs(g - expected[i]);
            worst = Math.Max(worst, error);
            off += error > 0 ? 1 : 0;
        }

        output.WriteLine($"{off} of {expected.Length} pixels one level off (float rounding), worst {worst}");
        Assert.True(worst <= 1 && off <= expected.Length / 50, $"{off} pixels differ from the network's output on the gray values, by up to {worst} levels");
    }
}
