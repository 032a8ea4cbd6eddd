using Microsoft.ML;
using MLNet.SuperResolution.Architectures;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>
/// <c>sr import</c>, run as users run it (a child process of the built tool): a state_dict (.pth or .safetensors)
/// becomes a model zip that a plain <c>mlContext.Model.Load</c> runs with the output of
/// <c>ApplySuperResolutionModel</c> on the same weights; bad input exits non-zero with a message naming the problem.
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class ImportCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Sr(params string[] arguments) => SrTool.Run(output, arguments);

    /// <summary>Espcn (Notes preset, RGB, x2) with seeded random weights saved both ways.</summary>
    private (string Pth, string Safetensors) WriteEspcnWeights()
    {
        random.manual_seed(11);
        using var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 3, SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes));
        string pth = Path.Combine(_images.Directory, "espcn.pth"), safetensors = Path.Combine(_images.Directory, "espcn.safetensors");
        network.save_py(pth);
        network.save_safetensors(safetensors);
        return (pth, safetensors);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Import_WritesAModelThatLoadsAndMatchesApplySuperResolutionModel(bool safetensors)
    {
        var (pth, st) = WriteEspcnWeights();
        string weights = safetensors ? st : pth;
        string zip = Path.Combine(_images.Directory, "out", "espcn-x2.zip");
        // Random weights: far below bicubic, so written only with --no-check (ImportCheckTests has the check itself).
        var (code, stdout, _) = Sr("import", "--arch", "espcn", "--scale", "2", "--preset", "notes", "--weights", weights, "-o", zip, "--no-check");
        Assert.Equal(0, code);
        Assert.Contains("Imported Espcn x2 (Rgb, Notes", stdout);
        Assert.True(File.Exists(zip));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(zip)!, "*.tmp"));

        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, new[] { _images.Crop("coffee.png", 20, 16, 200, 150) });
        var lowRes = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data).Transform(data);
        var chain = SrZip.Load(ml, zip, out var loaded);
        Assert.Equal(("LowRes", "SuperRes", SrArchitecture.Espcn, 2), (loaded.InputColumnName, loaded.OutputColumnName, loaded.Architecture, loaded.Scale));
        // The zip as a whole reads what its schema says, the Path column.
        Assert.Equal(TestImages.ReadImages(loaded.Transform(lowRes), "SuperRes")[0].Planes, TestImages.ReadImages(chain.Transform(data), "SuperRes")[0].Planes);
        using var direct = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Espcn, 2, pth,
            SrChannels.Rgb, preset: SrPreset.Notes).Fit(lowRes);
        var expected = TestImages.ReadImages(direct.Transform(lowRes), "SuperRes")[0];
        var actual = TestImages.ReadImages(loaded.Transform(lowRes), "SuperRes")[0];
        Assert.Equal((40, 32), (actual.Width, actual.Height));
        Assert.Equal(expected.Planes, actual.Planes);
        loaded.Dispose();
    }

    [Fact]
    public void Import_WeightsOfAnotherNetwork_ExitsOneListingTheMismatch_AndWritesNothing()
    {
        var (pth, _) = WriteEspcnWeights();
        string zip = Path.Combine(_images.Directory, "vdsr.zip");
        var (code, _, stderr) = Sr("import", "--arch", "Vdsr", "--scale", "2", "--weights", pth, "-o", zip);
        Assert.Equal(1, code);
        Assert.Contains("does not match the Vdsr network", stderr);
        Assert.Contains("missing: input.weight", stderr);
        Assert.Contains("unexpected: first_part.0.bias", stderr);
        Assert.False(File.Exists(zip));
        Assert.Empty(Directory.GetFiles(_images.Directory, "*.tmp"));
    }

    [Fact]
    public void Import_WrongShapes_ListsTheShapes()
    {
        var (pth, _) = WriteEspcnWeights(); // RGB weights, loaded as Y
        var (code, _, stderr) = Sr("import", "--arch", "Espcn", "--scale", "2", "--preset", "notes", "--channels", "y",
            "--weights", pth, "-o", Path.Combine(_images.Directory, "y.zip"));
        Assert.Equal(1, code);
        Assert.Contains("shape: first_part.0.weight file [64,3,5,5] vs network [64,1,5,5]", stderr);
    }

    [Theory]
    [InlineData("Nope", "2", "Unknown architecture 'Nope'; one of: Bicubic, Srcnn")]
    [InlineData("Fsrcnn", "8", "Fsrcnn does not support scale 8; supported: 2, 3, 4.")]
    [InlineData("Bicubic", "2", "Bicubic has no weights to import.")]
    public void Import_InvalidArguments_ExitNonZeroWithAReason(string architecture, string scale, string message)
    {
        var (pth, _) = WriteEspcnWeights();
        var (code, stdout, stderr) = Sr("import", "--arch", architecture, "--scale", scale, "--weights", pth, "-o", Path.Combine(_images.Directory, "x.zip"));
        Assert.NotEqual(0, code);
        Assert.Contains(message, stdout + stderr);
    }

    [Fact]
    public void Import_MissingWeightsFile_IsNamed()
    {
        string missing = Path.Combine(_images.Directory, "nowhere.pth");
        var (code, stdout, stderr) = Sr("import", "--arch", "Fsrcnn", "--scale", "2", "--weights", missing, "-o", Path.Combine(_images.Directory, "x.zip"));
        Assert.NotEqual(0, code);
        Assert.Contains($"Weights file not found: {missing}", stdout + stderr);
    }

    [Fact]
    public void Import_NotAStateDict_SaysWhichFormatsAreRead()
    {
        string text = _images.Write("notes.pth", "not weights"u8.ToArray());
        var (code, _, stderr) = Sr("import", "--arch", "Fsrcnn", "--scale", "2", "--weights", text, "-o", Path.Combine(_images.Directory, "x.zip"));
        Assert.Equal(1, code);
        Assert.Contains($"'{text}' cannot be read as model weights: it is not a PyTorch weights file: neither the zip that torch.save writes, nor its legacy format, nor safetensors", stderr);
    }

    [Fact]
    public void Import_RandomWeights_AreRefusedAsFarBelowBicubic_AndNothingIsWritten()
    {
        var (pth, _) = WriteEspcnWeights();
        string zip = Path.Combine(_images.Directory, "random.zip");
        var (code, _, stderr) = Sr("import", "--arch", "Espcn", "--scale", "2", "--preset", "Notes", "--weights", pth, "-o", zip);
        Assert.Equal(1, code);
        Assert.Contains("BELOW bicubic on the built-in check patches", stderr);
        Assert.Contains("Nothing was written", stderr);
        Assert.Contains("--no-check", stderr);
        Assert.False(File.Exists(zip));
    }

    [SkippableFact]
    public void Import_WeightsOfAnotherScale_AreRefused_AndTheScaleTheyFitIsNamed()
    {
        // The case: FSRCNN's x3 weights imported as x2 load (same shapes) but draw a grid.
        string weights = SharedData.Require("weights", "fsrcnn", "fsrcnn_x3.pth");
        string zip = Path.Combine(_images.Directory, "fsrcnn-x2.zip");
        var (code, _, stderr) = Sr("import", "--arch", "Fsrcnn", "--scale", "2", "--weights", weights, "-o", zip);
        Assert.Equal(1, code);
        Assert.Contains("BELOW bicubic", stderr);
        Assert.Contains("--scale 3 --channels Y: +", stderr);
        Assert.False(File.Exists(zip));

        var (good, stdout, _) = Sr("import", "--arch", "Fsrcnn", "--scale", "3", "--weights", weights, "-o", zip);
        Assert.Equal(0, good);
        Assert.Contains("Check patches: +", stdout);
        Assert.Contains(" dB over bicubic", stdout);
    }
}
