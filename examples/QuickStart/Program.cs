// QuickStart: the whole MLNet.SuperResolution pipeline on the bundled CC0 photos.
//
//   dotnet run --project examples/QuickStart              train ESPCN x2 (about a minute), compare with bicubic,
//                                                          save the model, reload it in a fresh process, write a PNG
//   dotnet run --project examples/QuickStart -- load <model.zip> <image> <output.png>
//                                                          the fresh-process step on its own
//   dotnet run --project examples/QuickStart -- readme     the README's "The pipeline in code" (ReadmeSample.cs)
using System.Diagnostics;
using System.Reflection;
using Microsoft.ML;
using MLNet.SuperResolution;

return args.Length > 0 && args[0] == "load" ? QuickStart.LoadAndUpscale(args)
    : args.Length > 0 && args[0] == "readme" ? ReadmeSample.Run()
    : QuickStart.TrainEvaluateSave(args);

/// <summary>A row of the input data: the path of an image file.</summary>
public sealed class ImagePath
{
    /// <summary>The image file.</summary>
    public string Path { get; set; } = string.Empty;
}

internal static class QuickStart
{
    private const int Scale = 2;
    private const string HeldOut = "chelsea.png";

    public static int TrainEvaluateSave(string[] args)
    {
        string samples = Path.Combine(AppContext.BaseDirectory, "samples");
        string outputDirectory = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("artifacts", "quickstart"));
        Directory.CreateDirectory(outputDirectory);
        var trainPaths = Directory.GetFiles(samples).Where(p => Path.GetFileName(p) != HeldOut && !p.EndsWith(".md")).OrderBy(p => p).ToArray();
        string testPath = Path.Combine(samples, HeldOut);

        var ml = new MLContext(seed: 1);
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal) && e.Kind >= Microsoft.ML.Runtime.ChannelMessageKind.Info)
                Console.WriteLine($"  [{e.Kind}] {e.RawMessage}");
        };

        IDataView train = ml.Data.LoadFromEnumerable(trainPaths.Select(p => new ImagePath { Path = p }));
        IDataView test = ml.Data.LoadFromEnumerable(new[] { new ImagePath { Path = testPath } });

        var degrade = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: Scale, inputColumnName: "HighRes"));
        var pipeline = degrade.Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
        {
            Architecture = SrArchitecture.Espcn,
            Scale = Scale,
            InputColumnName = "LowRes",
            LabelColumnName = "HighRes",
            OutputColumnName = "SuperRes",
            Epochs = 150,
            PatchesPerImage = 64,
            BatchSize = 16,
            PatchSize = 48,
            LearningRate = 1e-3,
            LogEveryNSteps = 500,
        }));
        var bicubic = degrade.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: Scale));

        Console.WriteLine($"Training ESPCN x{Scale} on {trainPaths.Length} photos ({string.Join(", ", trainPaths.Select(Path.GetFileName))}); held out: {HeldOut}");
        var clock = Stopwatch.StartNew();
        ITransformer model = pipeline.Fit(train);
        Console.WriteLine($"Trained in {clock.Elapsed.TotalSeconds:F1} s.");

        var bicubicMetrics = ml.SuperResolution().Evaluate(bicubic.Fit(test).Transform(test), scale: Scale, labelColumnName: "HighRes", scoreColumnName: "SuperRes");
        var espcnMetrics = ml.SuperResolution().Evaluate(model.Transform(test), scale: Scale, labelColumnName: "HighRes", scoreColumnName: "SuperRes");
        Console.WriteLine();
        Console.WriteLine($"Held-out {HeldOut}, x{Scale}, Y channel, border {Scale} (the SR protocol):");
        Console.WriteLine("| method  | PSNR (dB) | SSIM   |");
        Console.WriteLine("|---------|-----------|--------|");
        Console.WriteLine($"| bicubic | {bicubicMetrics.Psnr,9:F3} | {bicubicMetrics.Ssim:F4} |");
        Console.WriteLine($"| ESPCN   | {espcnMetrics.Psnr,9:F3} | {espcnMetrics.Ssim:F4} |");
        Console.WriteLine();

        string modelPath = Path.Combine(outputDirectory, $"espcn-x{Scale}.zip");
        ml.Model.Save(model, train.Schema, modelPath);
        Console.WriteLine($"Saved {modelPath} ({new FileInfo(modelPath).Length / 1024} KiB). Reloading it in a fresh process:");

        string outputImage = Path.Combine(outputDirectory, $"chelsea-espcn-x{Scale}.png");
        int exitCode = RunFreshProcess("load", modelPath, testPath, outputImage);
        if (exitCode != 0)
            return exitCode;
        return espcnMetrics.Psnr > bicubicMetrics.Psnr ? 0 : Fail($"ESPCN ({espcnMetrics.Psnr:F3} dB) did not beat bicubic ({bicubicMetrics.Psnr:F3} dB).");
    }

    /// <summary>The fresh-process step: plain mlContext.Model.Load, no registration call, then upscale and save.</summary>
    public static int LoadAndUpscale(string[] args)
    {
        if (args.Length != 4)
            return Fail("usage: QuickStart load <model.zip> <image> <output.png>");
        string modelPath = args[1], imagePath = args[2], outputImage = args[3];

        var ml = new MLContext(seed: 1);
        ITransformer model = ml.Model.Load(modelPath, out _);
        IDataView data = ml.Data.LoadFromEnumerable(new[] { new ImagePath { Path = imagePath } });
        IDataView upscaled = model.Transform(data);
        var metrics = ml.SuperResolution().Evaluate(upscaled, scale: Scale, labelColumnName: "HighRes", scoreColumnName: "SuperRes");

        using var cursor = upscaled.GetRowCursor(upscaled.Schema.Where(c => c.Name == "SuperRes"));
        var getter = cursor.GetGetter<Microsoft.ML.Data.MLImage>(upscaled.Schema["SuperRes"]);
        cursor.MoveNext();
        Microsoft.ML.Data.MLImage image = null!;
        getter(ref image);
        image.Save(outputImage);
        Console.WriteLine($"  [pid {Environment.ProcessId}] loaded {Path.GetFileName(modelPath)}, upscaled {Path.GetFileName(imagePath)} -> {outputImage} " +
                          $"({image.Width}x{image.Height}), PSNR {metrics.Psnr:F3} dB, SSIM {metrics.Ssim:F4}");
        image.Dispose();
        return 0;
    }

    private static int RunFreshProcess(params string[] arguments)
    {
        var start = new ProcessStartInfo { UseShellExecute = false };
        string host = Environment.ProcessPath!;
        start.FileName = host;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 1;
    }
}
