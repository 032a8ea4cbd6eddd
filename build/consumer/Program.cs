// A new user's first lines (build/consumer, built and run by .ci/run against the packed library):
//   consumer IMAGE OUTPUT_FOLDER
using System.Diagnostics;
using Microsoft.ML;
using MLNet.SuperResolution;

string image = args[0], folder = args[1];
Directory.CreateDirectory(folder);
var clock = Stopwatch.StartNew();

// 1. The default model, no training, no weights to find.
using (var upscaler = SuperResolutionUpscaler.FromDefaultModel(2))
    upscaler.UpscaleFile(image, Path.Combine(folder, "default-x2.png"));
Console.WriteLine($"default model: {Path.Combine(folder, "default-x2.png")} ({clock.Elapsed.TotalSeconds:F1} s from start)");

// 2. A pipeline: fit (a few steps of ESPCN), save, load, evaluate.
var ml = new MLContext(seed: 1);
IDataView files = ml.Data.LoadFromEnumerable(new[] { new ImagePath { Path = image } });
var pipeline = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
    .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"))
    .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
    {
        Architecture = SrArchitecture.Espcn, Scale = 2, InputColumnName = "LowRes", LabelColumnName = "HighRes",
        OutputColumnName = "SuperRes", Epochs = 2, PatchesPerImage = 8,
    }));
var model = pipeline.Fit(files);
string zip = Path.Combine(folder, "espcn-x2.zip");
ml.Model.Save(model, files.Schema, zip);
var loaded = ml.Model.Load(zip, out _);
var metrics = ml.SuperResolution().Evaluate(loaded.Transform(files), labelColumnName: "HighRes", scoreColumnName: "SuperRes", scale: 2);
Console.WriteLine($"pipeline: fit, saved {zip}, loaded, evaluated: {metrics.Psnr:F2} dB ({clock.Elapsed.TotalSeconds:F1} s from start)");

// 3. One image through a PredictionEngine: a path in, PNG bytes out.
var upscaling = ml.Transforms.LoadImages("LowRes", imageFolder: null, inputColumnName: "Path")
    .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2))
    .Append(ml.Transforms.EncodeImages("Png", "SuperRes"))
    .Fit(ml.Data.LoadFromEnumerable(Array.Empty<ImagePath>()));
using var engine = ml.Model.CreatePredictionEngine<ImagePath, Upscaled>(upscaling);
byte[] png = engine.Predict(new ImagePath { Path = image }).Png;
File.WriteAllBytes(Path.Combine(folder, "engine-x2.png"), png);
string mlnet = typeof(MLContext).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
    .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().First().InformationalVersion.Split('+')[0];
Console.WriteLine($"prediction engine: {png.Length} bytes of PNG; ML.NET {mlnet} ({clock.Elapsed.TotalSeconds:F1} s from start)");
bool pngOk = png.Length > 8 && png[0] == 0x89 && png[1] == (byte)'P';
return double.IsFinite(metrics.Psnr) && metrics.Psnr > 0 && pngOk ? 0 : 1; // it ran end to end (two epochs make no good model)

/// <summary>A prediction: the upscaled image as a PNG file's bytes.</summary>
public sealed class Upscaled
{
    /// <summary>The PNG file.</summary>
    public byte[] Png { get; set; } = [];
}

/// <summary>A row naming an image file.</summary>
public sealed class ImagePath
{
    /// <summary>The image file.</summary>
    public string Path { get; set; } = string.Empty;
}
