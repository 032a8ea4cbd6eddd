using System.Diagnostics;
using SixLabors.ImageSharp;

namespace MLNet.SuperResolution.Tests.Examples;

/// <summary>
/// The zoo report's quick run (examples/ZooReport -- --quick), as a child process: two networks trained on a tiny
/// budget (DRN, built for x4 and x8 only, named instead of failing), evaluated on Set5, the markdown table with
/// bicubic first, and the three pictures (two ScottPlot charts drawn by the separate ZooReport.Charts process, the
/// grid of crops) written as real PNGs.
/// </summary>
public sealed class ZooReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mlnet-sr-zoo-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [SkippableFact]
    public void QuickRun_WritesTheTableAndThreeCharts()
    {
        string shared = SharedData.Require("data", "train", "BSD100");
        shared = Path.GetFullPath(Path.Combine(shared, "..", "..", ".."));
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string app = Path.Combine(SharedData.RepositoryRoot, "examples", "ZooReport", "bin", configuration, "net10.0", "ZooReport.dll");
        Assert.True(File.Exists(app), $"{app} was not built");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { app, "--quick", "--shared", shared, "--work", _directory, "--out", _directory, "--threads", "2",
                     "--only", "Espcn,Fsrcnn,Drn" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output.WriteLine(stdout + errors.Result);
        Assert.Equal(0, process.ExitCode);

        string report = File.ReadAllText(Path.Combine(_directory, "zoo-report-quick.md"));
        var rows = report.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("| network | channels | parameters |", rows[0]);
        Assert.StartsWith("| Bicubic (baseline) | Rgb | 0 |", rows[1]);
        Assert.Contains("| 33.674 |", rows[1]); // Set5 x2 bicubic, the reference table's value
        Assert.StartsWith("| Espcn |", rows[2]);
        Assert.StartsWith("| Fsrcnn |", rows[3]);
        Assert.Equal(4, rows.Count(r => !r.StartsWith("|---", StringComparison.Ordinal)));
        Assert.Contains("built for other scales only: Drn (x4, x8).", report); // named, not a failed row
        foreach (string name in new[] { "psnr-vs-parameters.png", "psnr-vs-inference-time.png", "crops.png" })
        {
            string path = Path.Combine(_directory, "zoo-report", name);
            Assert.Contains($"zoo-report/{name}", report);
            var info = Image.Identify(path);
            Assert.NotNull(info);
            Assert.True(info.Width >= 200 && info.Height >= 100, $"{name} is {info.Width}x{info.Height}");
        }

        // Finished networks are kept: a second run reuses them instead of training again.
        Assert.True(File.Exists(Path.Combine(_directory, "results", "Espcn.json")));
    }
}
