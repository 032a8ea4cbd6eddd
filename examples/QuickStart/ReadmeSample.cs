using Microsoft.ML;
using MLNet.SuperResolution;

/// <summary>
/// The README's "The pipeline in code", line for line between the README markers (a test compares the two, so the
/// README's code compiles and its figures come from this run): <c>dotnet run -c Release --project examples/QuickStart -- readme</c>.
/// Trains on the bundled photos but chelsea.png, evaluates on chelsea.png.
/// </summary>
internal static class ReadmeSample
{
    public static int Run()
    {
        string samples = Path.Combine(AppContext.BaseDirectory, "samples");
        string[] paths = Directory.GetFiles(samples).Where(p => Path.GetFileName(p) != "chelsea.png" && !p.EndsWith(".md")).Order(StringComparer.Ordinal).ToArray();
        string[] testPaths = [Path.Combine(samples, "chelsea.png")];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine("artifacts", "readme-sample"));
        Environment.CurrentDirectory = Path.GetFullPath(Path.Combine("artifacts", "readme-sample")); // where espcn-x2.zip goes

        // README:begin
        var ml = new MLContext(seed: 1);
        IDataView files = ml.Data.LoadFromEnumerable(paths.Select(p => new ImagePath { Path = p })); // your own class
        IDataView testFiles = ml.Data.LoadFromEnumerable(testPaths.Select(p => new ImagePath { Path = p }));

        var pipeline = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"))   // MATLAB bicubic, exactly
            .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
            {
                Architecture = SrArchitecture.Espcn,
                Scale = 2,
                InputColumnName = "LowRes",
                LabelColumnName = "HighRes",
                OutputColumnName = "SuperRes",
                Epochs = 80,
                PatchesPerImage = 64,   // 80 epochs x 36 steps of 16 patches, about 50 s on 2 cores
            }));
        var model = pipeline.Fit(files);
        Console.WriteLine(model.LastTransformer.TrainingSummary!.BicubicComparison); // the built-in check patches

        SuperResolutionMetrics m = ml.SuperResolution().Evaluate(model.Transform(testFiles),
            labelColumnName: "HighRes", scoreColumnName: "SuperRes", scale: 2);
        Console.WriteLine($"{m.Psnr:F3} dB  SSIM {m.Ssim:F4}");   // Y channel, border = scale (the protocol)

        ml.Model.Save(model, files.Schema, "espcn-x2.zip");
        ITransformer again = ml.Model.Load("espcn-x2.zip", out _);  // works in a fresh process, no registration call
        // README:end

        var degrade = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"));
        var bicubicX2 = degrade.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 2)).Fit(testFiles);
        var baseline = ml.SuperResolution().Evaluate(bicubicX2.Transform(testFiles), labelColumnName: "HighRes", scoreColumnName: "SuperRes", scale: 2);
        Console.WriteLine($"bicubic on {Path.GetFileName(testPaths[0])}: {baseline.Psnr:F3} dB  SSIM {baseline.Ssim:F4}; the run took {clock.Elapsed.TotalSeconds:F0} s");
        (again as IDisposable)?.Dispose();
        return m.Psnr > baseline.Psnr ? 0 : 1;
    }

    /// <summary>The README's second block: compiled with the example, not run (it needs FSRCNN's published weights).</summary>
    private static void PretrainedWeights(MLContext ml)
    {
        // README:begin weights
        // Pretrained PyTorch weights, the ML.NET way (like ApplyOnnxModel): fitting does not train.
        var fsrcnn = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes",
            SrArchitecture.Fsrcnn, scale: 3, weightsPath: "fsrcnn_x3.pth", channels: SrChannels.Y);

        // A community model (ESRGAN, Real-ESRGAN Compact, SPAN, PLKSR, ...): its network is detected from the file.
        var esrgan = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", "4x-RealESRGAN.pth");

        // The baseline every SR table starts with: MATLAB bicubic, no weights.
        var bicubic = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 4);
        // README:end weights
        GC.KeepAlive((fsrcnn, esrgan, bicubic));
    }
}
