using System.Diagnostics;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>Runs the built `sr` tool (sr.dll beside the tests) as a child process, as users run it.</summary>
internal static class SrTool
{
    public static (int ExitCode, string Stdout, string Stderr) Run(ITestOutputHelper output, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sr.dll"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["COLUMNS"] = "400"; // no wrapping of long messages
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = stderrTask.Result;
        process.WaitForExit();
        output.WriteLine($"sr {string.Join(' ', arguments)} -> {process.ExitCode}\n{stdout}{stderr}");
        return (process.ExitCode, stdout, stderr);
    }
}

/// <summary>The model zips `sr import` and `sr train` write: LoadImages (Path -> the image column), then the network.</summary>
internal static class SrZip
{
    /// <summary>Loads a zip, checks that it is that chain with a Path input schema, and returns its network step.</summary>
    public static Microsoft.ML.Data.TransformerChain<Microsoft.ML.ITransformer> Load(Microsoft.ML.MLContext ml, string path, out SuperResolutionTransformer network)
    {
        var chain = Assert.IsType<Microsoft.ML.Data.TransformerChain<Microsoft.ML.ITransformer>>(ml.Model.Load(path, out var schema));
        Assert.Equal(["Path"], schema.Select(c => c.Name));
        var steps = chain.ToList();
        Assert.Equal(2, steps.Count);
        Assert.IsType<Microsoft.ML.Data.ImageLoadingTransformer>(steps[0]);
        network = Assert.IsType<SuperResolutionTransformer>(steps[1]);
        return chain;
    }
}

