using System.Diagnostics;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Cli;
using MLNet.SuperResolution.Cli.Commands;
using SixLabors.ImageSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>
/// The command lines a new user types (issue "A tool that never silently does the wrong thing"): each either does what
/// was meant or exits non-zero with what to type instead; errors on stderr as "error: ...", usage errors exit 2.
/// </summary>
public sealed class CommandLineTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Sr(params string[] arguments) => SrTool.Run(output, arguments);

    private string Input() => _images.Crop("chelsea.png", 24, 16, 150, 80);

    [Theory]
    [InlineData("--bogus", "unknown option '--bogus' for 'sr upscale'.")]
    [InlineData("--self-ensamble", "Did you mean '--self-ensemble'?")]
    [InlineData("--tiles 64", "Did you mean '--tile'?")]
    [InlineData("--modle x.zip", "Did you mean '--model'?")]
    [InlineData("--scale abc", "--scale takes a whole number; 'abc' is not one.")]
    [InlineData("--scale", "--scale needs a whole number after it.")]
    [InlineData("--jpeg-quality high", "--jpeg-quality takes a whole number; 'high' is not one.")]
    public void UsageErrors_GoToStderr_WithWhatToType_ExitTwo_AndWriteNothing(string options, string message)
    {
        string result = Path.Combine(_images.Directory, "b.png");
        var (code, stdout, stderr) = Sr(["upscale", Input(), "-o", result, .. options.Split(' ')]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains(message, stderr);
        Assert.Contains("Run 'sr upscale --help' for its options.", stderr);
        Assert.False(File.Exists(result));
    }

    [Theory]
    [InlineData(new[] { "upscal", "x.png" }, "unknown command 'upscal'", "Did you mean 'upscale'?")]
    [InlineData(new[] { "train", "photos", "--lerning-rate", "1e-3", "-o", "m.zip" }, "unknown option '--lerning-rate' for 'sr train'", "Did you mean '--learning-rate'?")]
    [InlineData(new[] { "eval", "hr", "--low-rez", "lr" }, "unknown option '--low-rez' for 'sr eval'", "Did you mean '--low-res'?")]
    [InlineData(new[] { "upscale" }, "'sr upscale' needs INPUT", "sr upscale photo.jpg")]
    [InlineData(new[] { "train", "photos", "--epochs", "ten", "-o", "m.zip" }, "--epochs takes a whole number; 'ten' is not one.", "sr train --help")]
    [InlineData(new[] { "train", "photos", "--learning-rate", "fast", "-o", "m.zip" }, "--learning-rate takes a number; 'fast' is not one.", "sr train --help")]
    public void OtherCommands_UsageErrors_SayWhatToType(string[] arguments, string message, string hint)
    {
        var (code, stdout, stderr) = Sr(arguments);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains(message, stderr);
        Assert.Contains(hint, stderr);
    }

    [Fact]
    public void ShortScale_RunsAtThatScale()
    {
        string result = Path.Combine(_images.Directory, "s4.png");
        var (code, stdout, _) = Sr("upscale", Input(), "-s", "4", "-o", result);
        Assert.Equal(0, code);
        Assert.Contains("x4 with", stdout);
        Assert.Equal((96, 64), (Image.Identify(result).Width, Image.Identify(result).Height));
    }

    [Fact]
    public void Version_PrintsTheLibrarysVersion()
    {
        var (code, stdout, _) = Sr("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout.Trim());
    }

    [Fact]
    public void ManyInputs_AsTheShellExpandsThem_AreAllUpscaled_EachOnce_InTheirOrder()
    {
        string a = _images.Crop("chelsea.png", 20, 12, 150, 80), b = _images.Crop("coffee.png", 16, 12, 200, 150);
        string folder = Path.Combine(_images.Directory, "many");
        // a twice (as a file and again), b once: three arguments, two outputs.
        var (code, stdout, _) = Sr("upscale", a, b, a, "--scale", "2", "-o", folder);
        Assert.Equal(0, code);
        Assert.Contains("Upscaling 2 file(s)", stdout);
        Assert.Equal(
            [Path.GetFileNameWithoutExtension(a) + "-x2.png", Path.GetFileNameWithoutExtension(b) + "-x2.png"],
            Directory.GetFiles(folder).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray());
        // Piped, progress is a line per file and the summary line is whole.
        int first = stdout.IndexOf("[1/2] " + a, StringComparison.Ordinal), second = stdout.IndexOf("[2/2] " + b, StringComparison.Ordinal);
        Assert.True(first >= 0 && second > first, stdout);
        Assert.Contains($"-> {Path.GetFullPath(folder)}\n", stdout.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("0%", stdout);
    }

    [Fact]
    public void TwoInputsOfOneName_WouldOverwriteEachOther_AndAreRefused()
    {
        string first = Path.Combine(_images.Directory, "one"), second = Path.Combine(_images.Directory, "two");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        File.Copy(Input(), Path.Combine(first, "x.png"));
        File.Copy(Input(), Path.Combine(second, "x.png"));
        var (code, _, stderr) = Sr("upscale", Path.Combine(first, "x.png"), Path.Combine(second, "x.png"), "-o", Path.Combine(_images.Directory, "out"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("would be written to one output file", stderr);
    }

    [Theory]
    [InlineData("c.tiff", null, "cannot write .tiff images")]
    [InlineData("x.png", "jpg", "--format jpg and -o")]
    public void OutputProblems_AreRefused_BeforeTheModelLoads(string output, string? format, string message)
    {
        var arguments = new List<string> { "upscale", Input(), "-o", Path.Combine(_images.Directory, output) };
        if (format is not null)
            arguments.AddRange(["--format", format]);
        var (code, stdout, stderr) = Sr(arguments.ToArray());
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("Upscaling", stdout); // nothing loaded, nothing run
    }

    [Fact]
    public void ImageFileOutput_ForManyInputs_IsRefused()
    {
        var (code, _, stderr) = Sr("upscale", Input(), _images.Crop("coffee.png", 16, 12), "-o", Path.Combine(_images.Directory, "both.png"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("names an image file, but the inputs are 2; give an output folder", stderr);
    }

    [Fact]
    public void WeightsWithoutArch_AreReadAsAModelFile_AndAnUndetectableOneSaysToNameItsNetwork()
    {
        // A zoo network's state_dict saved by other code: its keys say nothing of its network, so --arch must name it.
        string weights = Path.Combine(_images.Directory, "fsrcnn_x3.pth");
        random.manual_seed(1);
        using (var network = NetworkFactory.Create(SrArchitecture.Fsrcnn, 3, 1, SrModelZoo.Get(SrArchitecture.Fsrcnn).Options(SrPreset.Paper)))
            network.save_py(weights);
        string result = Path.Combine(_images.Directory, "w.png");
        var (code, stdout, stderr) = Sr("upscale", Input(), "--weights", weights, "--scale", "3", "-o", result);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("is not a network this library recognises from its keys", stderr);
        Assert.Contains("name it (sr: --arch and --scale)", stderr);
        Assert.DoesNotContain("EdsrBaseline", stdout); // never the default model instead
        Assert.False(File.Exists(result));
    }

    [Fact]
    public void Eval_WithoutAModel_EvaluatesTheEmbeddedDefault_NextToBicubic()
    {
        string folder = Path.Combine(_images.Directory, "hr");
        Directory.CreateDirectory(folder);
        File.Copy(_images.Crop("chelsea.png", 48, 48, 150, 80), Path.Combine(folder, "a.png"));
        var (code, stdout, stderr) = Sr("eval", folder, "--scale", "2", "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("\"model\": \"default model\"", stdout);
        Assert.Contains("\"architecture\": \"EdsrBaseline\"", stdout);
    }

    [Fact]
    public void Help_OfImport_DescribesItsOwnOptions()
    {
        var (code, stdout, _) = Sr("import", "--help");
        Assert.Equal(0, code);
        Assert.DoesNotContain("--model", stdout); // import has no --model; --scale's help used to speak of it
        Assert.Contains("--no-check", stdout);
        var (_, train, _) = Sr("train", "--help");
        Assert.Contains("--learning-rate", train);
        var (_, eval, _) = Sr("eval", "--help");
        Assert.Contains("--low-res", eval);
    }

    [Fact]
    public void TrainingImagesSmallerThanThePatch_AreRefusedWithTheFlag_OrLeftOutAndCounted()
    {
        string folder = Path.Combine(_images.Directory, "train");
        Directory.CreateDirectory(folder);
        File.Copy(_images.Crop("chelsea.png", 48, 48, 150, 80), Path.Combine(folder, "a.png"));
        File.Copy(_images.Crop("coffee.png", 48, 48, 200, 150), Path.Combine(folder, "b.png"));
        File.Copy(_images.Crop("coffee.png", 2, 2), Path.Combine(folder, "tiny.png"));
        string model = Path.Combine(_images.Directory, "m.zip");
        string[] arguments = ["train", folder, "--arch", "EdsrBaseline", "--preset", "Notes", "--scale", "2", "--epochs", "1", "--patches-per-image", "2",
            "--batch", "2", "--patch", "48", "-o", model];

        var (code, _, stderr) = Sr(arguments);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("2x2 pixels, smaller than the 48-pixel training patch", stderr);
        Assert.Contains("pass --skip-bad-images to leave such images out", stderr);
        Assert.DoesNotContain("SuperResolutionOptions", stderr);
        Assert.False(File.Exists(model));

        var (skipped, stdout, stderr2) = Sr([.. arguments, "--skip-bad-images"]);
        Assert.True(skipped == 0, stderr2);
        Assert.Contains("Training EdsrBaseline x2", stdout); // the architecture, not the class that builds it
        Assert.Contains("HR patch 48", stdout); // not shrunk to the tiny image
        Assert.Contains("1 training and 0 validation image(s) could not be used and were left out", stdout);
        Assert.Contains("BELOW bicubic", stdout); // one step of training: the check says so
        Assert.DoesNotContain(" 0.0 min", stdout);

        // Only the tiny image: nothing to learn from, with or without the flag (it used to train on 2-pixel patches, exit 0).
        File.Delete(Path.Combine(folder, "a.png"));
        File.Delete(Path.Combine(folder, "b.png"));
        File.Delete(model);
        var (tiny, _, stderr3) = Sr([.. arguments, "--skip-bad-images"]);
        Assert.Equal(ExitCodes.Failed, tiny);
        Assert.Contains("nothing to learn from", stderr3);
        Assert.False(File.Exists(model));
    }

    [SkippableFact]
    public void CtrlC_StopsUpscalingBetweenFiles_SaysWhatWasWritten_ExitsOneThirty()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "SIGINT is sent with kill(1).");
        string folder = Path.Combine(_images.Directory, "many-inputs");
        Directory.CreateDirectory(folder);
        string image = _images.Crop("astronaut.png", 160, 160, 100, 100);
        for (int i = 0; i < 40; i++)
            File.Copy(image, Path.Combine(folder, $"p{i:D2}.png"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { Path.Combine(AppContext.BaseDirectory, "sr.dll"), "upscale", folder, "--scale", "4", "-o", Path.Combine(_images.Directory, "out") })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null && !line.StartsWith("[2/40]", StringComparison.Ordinal))
        {
        }

        Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        string rest = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        string stderr = stderrTask.Result;
        output.WriteLine(rest + stderr);
        Assert.Equal(ExitCodes.Interrupted, process.ExitCode);
        Assert.Contains("Interrupted: ", stderr);
        Assert.Contains("not started", stderr);
        int written = Directory.GetFiles(Path.Combine(_images.Directory, "out")).Length;
        Assert.InRange(written, 2, 39);
        Assert.Contains($"Interrupted: {written} of 40 file(s) written", stderr);
        Assert.Empty(Directory.GetFiles(Path.Combine(_images.Directory, "out"), "*.tmp"));
    }

    [Theory]
    [InlineData("self-ensamble", "--self-ensemble")]
    [InlineData("tiles", "--tile")]
    [InlineData("modle", "--model")]
    [InlineData("xyz", null)]
    public void Closest_FindsTypos_AndNothingForUnrelatedWords(string typed, string? expected)
    {
        var errors = new CliErrors(new Dictionary<string, Type> { ["upscale"] = typeof(UpscaleCommand.Settings) }, TextWriter.Null);
        Assert.Equal(expected, CliErrors.Closest(typed, errors.OptionNames("upscale")));
    }

    [SkippableTheory]
    [InlineData(80)]
    [InlineData(120)]
    public void ProgressInATerminal_KeepsLogLinesAboveTheBar_WithNoTornRows(int columns)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/tmux"), "needs tmux (a real terminal to draw in).");
        string folder = Path.Combine(_images.Directory, "photos");
        Directory.CreateDirectory(folder);
        File.Copy(_images.Crop("chelsea.png", 96, 96, 150, 60), Path.Combine(folder, "a.png"));
        File.Copy(_images.Crop("coffee.png", 96, 96, 200, 150), Path.Combine(folder, "b.png"));
        string sr = $"dotnet {Path.Combine(AppContext.BaseDirectory, "sr.dll")}";
        string train = Terminal(columns, $"{sr} train {folder} --arch Espcn --scale 2 --epochs 30 --patches-per-image 16 -o {Path.Combine(_images.Directory, "m.zip")}");
        string upscale = Terminal(columns, $"{sr} upscale {folder} --scale 2 --tile 32 -o {Path.Combine(_images.Directory, "out")}");
        output.WriteLine(train + "\n" + upscale);

        Assert.Contains("EXIT=0", train);
        Assert.Contains("EXIT=0", upscale);
        // The bar's last state stays on its own row, under every log line; no log text shares a row with a bar.
        var trainRows = train.Split('\n');
        int bar = Array.FindLastIndex(trainRows, r => r.Contains('━'));
        Assert.True(bar > Array.FindIndex(trainRows, r => r.StartsWith("Training done", StringComparison.Ordinal)), train);
        Assert.StartsWith("epoch 30/30 step 60/60", trainRows[bar]);
        foreach (string row in trainRows.Concat(upscale.Split('\n')))
        {
            Assert.True(row.Length <= columns, $"a row wider than the terminal: {row}");
            if (row.Contains('━'))
                Assert.Matches(@"^(epoch \d+/\d+ step |all \d+ files|\s*[ab]\.png )", row);
            else
                Assert.DoesNotMatch(@"(\d\d:\d\d|--:--)(:\d\d|:--)?\s*$|\d+%", row); // the end of a bar left behind a log line
        }

        Assert.Contains("all 2 files ━", upscale);
        Assert.Contains("100%", upscale);
    }

    /// <summary>
    /// Runs <paramref name="command"/> in a detached tmux session of <paramref name="columns"/> columns, on a tmux server
    /// of its own (a private socket, no user configuration), so one capture never meets another's server as it shuts
    /// down; the pane at the end. A server that does not start is retried, then the test is skipped with tmux's words.
    /// </summary>
    private static string Terminal(int columns, string command)
    {
        string socket = Path.Combine(Path.GetTempPath(), $"sr-test-{Guid.NewGuid():N}"[..20]);
        (int ExitCode, string Output, string Error) Tmux(params string[] arguments)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in new[] { "-S", socket, "-f", "/dev/null" }.Concat(arguments))
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, text, error.Result);
        }

        try
        {
            string started = "";
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var result = Tmux("new-session", "-d", "-s", "sr", "-x", columns.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", "40",
                    $"{command}; echo EXIT=$?; sleep 120");
                if (result.ExitCode == 0 && Tmux("has-session", "-t", "sr").ExitCode == 0)
                {
                    started = "yes";
                    break;
                }

                started = result.Error;
                Tmux("kill-server");
                Thread.Sleep(1000);
            }

            Skip.IfNot(started == "yes", $"tmux could not start a session: {started}");
            string pane = "";
            for (int i = 0; i < 240; i++)
            {
                var capture = Tmux("capture-pane", "-p", "-t", "sr");
                Assert.True(capture.ExitCode == 0, $"tmux capture-pane failed: {capture.Error}");
                pane = capture.Output;
                if (pane.Contains("EXIT=", StringComparison.Ordinal))
                    break;
                Thread.Sleep(500);
            }

            return pane;
        }
        finally
        {
            Tmux("kill-server");
            File.Delete(socket);
        }
    }

    [Fact]
    public void TheReadmesCommandLines_UseOnlyOptionsTheCommandsHave()
    {
        var settings = SrCommands.SettingsByCommand;
        var errors = new CliErrors(settings, TextWriter.Null);
        string readme = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "README.md")).ReplaceLineEndings("\n");
        int start = readme.IndexOf("## The `sr` tool", StringComparison.Ordinal);
        string section = readme[start..readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal)];
        string block = System.Text.RegularExpressions.Regex.Match(section, "```bash\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(block);
        string? command = null;
        int checkedOptions = 0;
        foreach (string line in block.Split('\n'))
        {
            if (line.StartsWith("sr ", StringComparison.Ordinal))
                command = line.Split(' ')[1];
            Assert.True(command is not null && settings.ContainsKey(command), $"not a command: {line}");
            foreach (System.Text.RegularExpressions.Match option in System.Text.RegularExpressions.Regex.Matches(line, @"(?<![\w-])--?[a-z][a-z0-9-]*"))
            {
                Assert.True(errors.OptionNames(command!).Contains(option.Value), $"'sr {command}' has no option {option.Value} (README: {line.Trim()})");
                checkedOptions++;
            }
        }

        // The prose names every option of sr train it lists by name.
        var trainList = System.Text.RegularExpressions.Regex.Match(section, "`sr train` takes the trainer's settings by name: `([^`]*)`");
        foreach (string option in trainList.Groups[1].Value.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
            Assert.Contains(option, errors.OptionNames("train"));
        Assert.True(checkedOptions > 20, $"only {checkedOptions} options found in the README's command lines");
    }
}
