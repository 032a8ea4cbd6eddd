using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>
/// <c>sr train</c> and <c>sr eval</c>, run as users run them (child processes of the built tool): a model trained on a
/// folder loads with <c>mlContext.Model.Load</c> and evaluates with the protocol; a training process killed with
/// SIGKILL mid-run resumes from its last checkpoint and ends with the weights and loss history of an uninterrupted run.
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class TrainCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Sr(params string[] arguments) => SrTool.Run(output, arguments);

    private string TrainingFolder()
    {
        string folder = Path.Combine(_images.Directory, "train");
        Directory.CreateDirectory(folder);
        foreach (string crop in _images.TrainingSet(size: 40))
            File.Move(crop, Path.Combine(folder, Path.GetFileName(crop)));
        return folder;
    }

    private static string[] TinyRun(string folder, string model, params string[] more) =>
    [
        "train", folder, "--arch", "Espcn", "--preset", "Notes", "--channels", "Rgb", "--scale", "2", "--patch", "24", "--batch", "4",
        "--threads", "1", "--seed", "5", "--no-progress", "-o", model, .. more,
    ];

    [Fact]
    public void TrainThenEval_SavesALoadableModelAndPrintsTheProtocolTable()
    {
        string folder = TrainingFolder();
        string model = Path.Combine(_images.Directory, "out", "espcn-x2.zip");
        string weights = Path.Combine(_images.Directory, "out", "espcn-x2.safetensors");
        var (code, stdout, stderr) = Sr(TinyRun(folder, model, "--epochs", "3", "--patches-per-image", "8", "--validation", folder, "--keep-best",
            "--export-weights", weights));
        Assert.True(code == 0, stderr);
        Assert.Contains("Training Espcn (Notes, Rgb) x2 on 3 image(s), validating on 3.", stdout);
        Assert.Contains("Best validation:", stdout);
        Assert.True(File.Exists(weights));

        var ml = new MLContext(seed: 1);
        using var chain = SrZip.Load(ml, model, out var loaded);
        using (loaded)
        {
            Assert.Equal(SrArchitecture.Espcn, loaded.Architecture);
            Assert.Equal(3, loaded.TrainingSummary!.EpochLosses.Count);
            Assert.Equal(3, loaded.TrainingSummary.Validations.Count);
        }

        (code, stdout, stderr) = Sr("eval", "--model", model, folder, "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("scale").GetInt32());
        Assert.Equal(3, root.GetProperty("images").GetArrayLength());
        double psnr = root.GetProperty("mean").GetProperty("psnr").GetDouble();
        double bicubic = root.GetProperty("mean").GetProperty("bicubicPsnr").GetDouble();
        Assert.InRange(psnr, 5, 60);
        Assert.InRange(bicubic, 15, 60);

        // The same through the library: sr eval is the protocol, not a number of its own.
        var data = TestImages.Paths(ml, Directory.GetFiles(folder).Order(StringComparer.Ordinal));
        var images = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes")).Fit(data).Transform(data);
        using var againChain = SrZip.Load(ml, model, out var again);
        var metrics = ml.SuperResolution().Evaluate(again.Transform(images), 2);
        Assert.Equal(metrics.Psnr, psnr, 6);

        (code, stdout, _) = Sr("eval", "--model", model, folder);
        Assert.Equal(0, code);
        Assert.Contains("mean", stdout);
        Assert.Contains("bicubic PSNR", stdout);
    }

    [Fact]
    public void Eval_WithGivenLowResFiles_PairsThemByName_AndMissingOnesAreNamed()
    {
        string folder = TrainingFolder();
        string model = Path.Combine(_images.Directory, "bicubic.zip");
        Assert.Equal(0, Sr("import", "--arch", "Espcn", "--scale", "2", "--preset", "Notes", "--weights", WriteEspcnWeights(), "-o", model, "--no-check").ExitCode);
        string low = Path.Combine(_images.Directory, "low");
        Directory.CreateDirectory(low);
        var ml = new MLContext(seed: 1);
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
        var data = TestImages.Paths(ml, files);
        var lowRes = TestImages.ReadImages(ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes")).Fit(data).Transform(data), "LowRes");
        for (int i = 0; i < files.Length - 1; i++)
        {
            using var image = lowRes[i].ToMLImage();
            image.Save(Path.Combine(low, Path.GetFileName(files[i])));
        }

        var (code, _, stderr) = Sr("eval", "--model", model, folder, "--lr", low);
        Assert.Equal(1, code);
        Assert.Contains("no low-resolution file for 1 image(s)", stderr);
        Assert.Contains(Path.GetFileName(files[^1]), stderr);

        File.Delete(files[^1]);
        var (code2, stdout, stderr2) = Sr("eval", "--model", model, folder, "--low-res", low, "--json");
        Assert.True(code2 == 0, stderr2);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(2, json.RootElement.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public void Eval_SkipBadImages_ListsThemAndScoresTheRest()
    {
        string folder = TrainingFolder();
        string model = Path.Combine(_images.Directory, "espcn.zip");
        Assert.Equal(0, Sr("import", "--arch", "Espcn", "--scale", "2", "--preset", "Notes", "--weights", WriteEspcnWeights(), "-o", model, "--no-check").ExitCode);
        File.WriteAllText(Path.Combine(folder, "broken.png"), "not an image");
        var (failCode, _, failErrors) = Sr("eval", "--model", model, folder);
        Assert.Equal(1, failCode);
        Assert.Contains("broken.png", failErrors);

        var (code, stdout, stderr) = Sr("eval", "--model", model, folder, "--skip-bad-images", "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("broken.png", stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(3, json.RootElement.GetProperty("images").GetArrayLength());
        Assert.DoesNotContain("broken.png", stdout);
    }

    private string WriteEspcnWeights()
    {
        random.manual_seed(3);
        using var network = MLNet.SuperResolution.Architectures.NetworkFactory.Create(SrArchitecture.Espcn, 2, 3,
            SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes));
        string path = Path.Combine(_images.Directory, "espcn.safetensors");
        network.save_safetensors(path);
        return path;
    }

    [Theory]
    [InlineData(new[] { "--arch", "Nope" }, "Unknown architecture 'Nope'")]
    [InlineData(new[] { "--arch", "Bicubic" }, "Bicubic has nothing to train")]
    [InlineData(new[] { "--arch", "Espcn", "--scale", "8" }, "Espcn does not support scale 8")]
    [InlineData(new[] { "--loss", "L7" }, "Unknown loss 'L7'")]
    [InlineData(new[] { "--keep-best" }, "--keep-best and --early-stopping need --validation")]
    [InlineData(new[] { "--epochs", "0" }, "Epochs")]
    [InlineData(new[] { "--arch", "Espcn", "--adversarial-weight", "0.001" }, "AdversarialLossWeight")]
    [InlineData(new[] { "--arch", "SrResNet", "--perceptual-weight", "1" }, "VGG19")]
    public void Train_BadOptions_ExitNonZeroWithAMessage(string[] options, string message)
    {
        string folder = TrainingFolder();
        var (code, stdout, stderr) = Sr(["train", folder, "-o", Path.Combine(_images.Directory, "m.zip"), .. options]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, stdout + stderr);
        Assert.False(File.Exists(Path.Combine(_images.Directory, "m.zip")));
    }

    [Fact]
    public void Train_ABadImageInTheFolder_IsNamed()
    {
        string folder = TrainingFolder();
        File.WriteAllText(Path.Combine(folder, "notes.png"), "not an image");
        var (code, _, stderr) = Sr(TinyRun(folder, Path.Combine(_images.Directory, "m.zip"), "--epochs", "1"));
        Assert.Equal(1, code);
        Assert.Contains("notes.png", stderr);
    }

    [Fact]
    public void Train_SkipBadImages_LeavesThemOutAndSaysSo()
    {
        string folder = TrainingFolder();
        File.WriteAllText(Path.Combine(folder, "notes.png"), "not an image");
        File.WriteAllBytes(Path.Combine(folder, "empty.jpg"), []);
        string model = Path.Combine(_images.Directory, "m.zip");
        var (code, stdout, stderr) = Sr(TinyRun(folder, model, "--epochs", "1", "--skip-bad-images"));
        Assert.True(code == 0, stderr);
        Assert.Contains("notes.png", stdout);
        Assert.Contains("empty.jpg", stdout);
        Assert.Contains("2 of 5 training image(s) skipped", stdout);
        Assert.Contains("on 3 image(s)", stdout);
        Assert.True(File.Exists(model));
    }

    [Fact]
    public void Train_KilledMidRun_ResumesFromTheLastCheckpoint_AndEqualsAnUninterruptedRun()
    {
        string folder = TrainingFolder();
        string[] schedule = ["--epochs", "12", "--patches-per-image", "48"];

        // The reference: one uninterrupted run.
        string reference = Path.Combine(_images.Directory, "reference.zip");
        string referenceWeights = Path.Combine(_images.Directory, "reference.safetensors");
        Assert.Equal(0, Sr(TinyRun(folder, reference, [.. schedule, "--export-weights", referenceWeights])).ExitCode);

        // The same run, killed with SIGKILL as soon as its first checkpoint is on disk.
        string checkpoints = Path.Combine(_images.Directory, "checkpoints");
        string model = Path.Combine(_images.Directory, "resumed.zip");
        string weights = Path.Combine(_images.Directory, "resumed.safetensors");
        string[] run = TinyRun(folder, model, [.. schedule, "--checkpoint-dir", checkpoints, "--export-weights", weights]);
        string checkpoint = Path.Combine(checkpoints, "training.srcheckpoint");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sr.dll"));
        foreach (string argument in run)
            start.ArgumentList.Add(argument);
        using (var process = Process.Start(start)!)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(2);
            Assert.False(process.HasExited, "the training process finished before its first checkpoint could be seen; make the run longer");
            process.Kill(); // SIGKILL on Linux: no handler runs
            process.WaitForExit();
        }

        Assert.False(File.Exists(model), "the killed run must not have saved a model");
        var (code, stdout, stderr) = Sr(run);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"Resumed from .*training\.srcheckpoint at step \d+ \(epoch [1-9]\d* done\)", stdout);

        var ml = new MLContext(seed: 1);
        using var resumedChain = SrZip.Load(ml, model, out var resumed);
        using var uninterruptedChain = SrZip.Load(ml, reference, out var uninterrupted);
        Assert.Equal(uninterrupted.TrainingSummary!.Steps, resumed.TrainingSummary!.Steps);
        Assert.Equal(12, resumed.TrainingSummary.EpochLosses.Count);
        for (int i = 0; i < 12; i++)
            Assert.Equal(uninterrupted.TrainingSummary.EpochLosses[i], resumed.TrainingSummary.EpochLosses[i], 1e-5);

        var expected = Safetensors.LoadStateDict(referenceWeights);
        var actual = Safetensors.LoadStateDict(weights);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, tensor) in expected)
        {
            double difference = (tensor - actual[key]).abs().max().item<float>();
            Assert.True(difference <= 1e-5, $"{key}: resumed differs from uninterrupted by {difference}");
        }
    }
}
