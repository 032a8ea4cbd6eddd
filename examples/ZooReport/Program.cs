// The founding notes' comparison, re-run with the SR protocol (docs/zoo-report.md):
//
//   dotnet run -c Release --project examples/ZooReport [-- --patches 16000] [--batch 4] [--lr 1e-3] [--only Espcn,Vdsr]
//        [--shared ../shared]
//        every network at its Notes preset, x2, trained on the 100 BSD100 photos with the same number of training
//        patches, evaluated on Set5 and Set14 (MATLAB-made LR files); writes docs/zoo-report.md and docs/zoo-report/*.png.
//        Each finished network is kept under artifacts/zoo-report/ (and each run is checkpointed), so a stopped run
//        continues where it was when started again. --lr gives every network that rate (no per-network exceptions).
//        About 3 hours on 2 cores: the pre-upsampling networks (DRRN, MemNet) dominate.
//   dotnet run -c Release --project examples/ZooReport -- --quick [--out DIR]
//        the smoke run (a minute or two): two small networks, a tiny budget, Set5 only; writes the report to
//        artifacts/zoo-report-quick/ (or DIR).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MLNet.SuperResolution;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var arguments = Arguments.Parse(args);
bool quick = arguments.Has("quick");
string shared = Path.GetFullPath(arguments.Get("shared", Path.Combine("..", "shared")));
if (!Directory.Exists(Path.Combine(shared, "data", "train", "BSD100")) || !Directory.Exists(Path.Combine(shared, "data", "benchmark")))
{
    Console.Error.WriteLine($"Training or benchmark data not found under {shared}; pass --shared <dir>.");
    return 2;
}

var settings = new ReportSettings(
    Scale: 2,
    Patches: arguments.GetInt("patches", quick ? 320 : 16_000),
    PatchesPerImage: 16,
    BatchSize: arguments.GetInt("batch", quick ? 16 : 4),
    PatchSize: quick ? 24 : 48,
    LearningRate: arguments.GetDouble("lr", quick ? 5e-4 : 1e-3),
    // --lr sets one rate for every network (for trials); otherwise FSRCNN gets its own, with the reason the report gives.
    LearningRateOverrides: arguments.Has("lr") || quick ? [] : new()
    {
        [SrArchitecture.Fsrcnn] = (2e-3, "its eight PReLU layers without a skip connection learn slowly; at the shared rate it ended below " +
            "bicubic in this budget, 33.390 dB on Set5 in a one-thread trial; 2e-3 was the best of 1e-3, 2e-3, 3e-3 and 5e-3"),
    },
    WarmupSteps: quick ? 0 : 100,
    ClipNorm: 1.0,
    TrainingImages: quick ? 10 : 100,
    Sets: quick ? ["Set5"] : ["Set5", "Set14"],
    CropSet: quick ? "Set5" : "Set14",
    CropImage: quick ? "img_003.png" : "img_014.png",
    Crop: quick ? new Rectangle(96, 80, 64, 64) : new Rectangle(250, 150, 96, 96),
    TimingSize: quick ? 128 : 256,
    TimingRuns: quick ? 3 : 5);
var networks = arguments.GetOrNull("only") is { } only
    ? only.Split(',').Select(n => Enum.Parse<SrArchitecture>(n.Trim(), ignoreCase: true)).ToArray()
    : quick
        ? [SrArchitecture.Espcn, SrArchitecture.Fsrcnn]
        : Enum.GetValues<SrArchitecture>().Where(a => a != SrArchitecture.Bicubic).ToArray();
// Networks built only for other scales (DRN: x4 and x8) are named in the report instead of failing.
var otherScales = networks.Where(a => !SrModelZoo.Get(a).Scales.Contains(settings.Scale)).ToArray();
networks = networks.Except(otherScales).ToArray();
string work = Path.GetFullPath(arguments.Get("work", Path.Combine("artifacts", quick ? "zoo-report-quick" : "zoo-report")));
string output = Path.GetFullPath(arguments.Get("out", quick ? work : "docs"));
Directory.CreateDirectory(Path.Combine(work, "results"));
Directory.CreateDirectory(Path.Combine(work, "crops"));
Directory.CreateDirectory(Path.Combine(output, "zoo-report"));
if (arguments.GetOrNull("threads") is { } threads)
    TorchSharp.torch.set_num_threads(int.Parse(threads, CultureInfo.InvariantCulture));

var ml = new MLContext(seed: 1);
ml.Log += (_, e) =>
{
    if (e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal) && e.Kind >= Microsoft.ML.Runtime.ChannelMessageKind.Info
        && (e.Kind >= Microsoft.ML.Runtime.ChannelMessageKind.Warning || e.RawMessage.StartsWith("Epoch", StringComparison.Ordinal)))
        Console.WriteLine($"    {DateTime.Now:HH:mm:ss} {e.RawMessage}");
};

var trainFiles = Directory.GetFiles(Path.Combine(shared, "data", "train", "BSD100"), "*.png").Order(StringComparer.Ordinal).Take(settings.TrainingImages).ToArray();
var train = ml.Transforms.LoadImages("HighRes", null, nameof(PathRow.Path))
    .Append(ml.Transforms.DownscaleImages("LowRes", settings.Scale, "HighRes"))
    .Fit(ml.Data.LoadFromEnumerable(trainFiles.Select(f => new PathRow { Path = f })))
    .Transform(ml.Data.LoadFromEnumerable(trainFiles.Select(f => new PathRow { Path = f })));
var benchmarks = settings.Sets.ToDictionary(s => s, s => Benchmark(s));
using var timingInput = TimingInput();

Console.WriteLine($"Zoo report{(quick ? " (quick)" : "")}: {networks.Length} networks, x{settings.Scale}, {settings.Patches:N0} patches of {settings.PatchSize} px each, " +
                  $"{trainFiles.Length} BSD100 images, {TorchSharp.torch.get_num_threads()} threads; results in {work}");
var results = new List<NetworkResult> { Bicubic() };
foreach (var architecture in networks)
{
    string file = Path.Combine(work, "results", $"{architecture}.json");
    if (File.Exists(file))
    {
        var saved = JsonSerializer.Deserialize<NetworkResult>(File.ReadAllText(file))!;
        Console.WriteLine($"  {architecture}: done earlier ({saved.Scores[settings.Sets[0]].Psnr:F3} dB on {settings.Sets[0]}).");
        results.Add(saved);
        continue;
    }

    Console.WriteLine($"  {architecture}: training ...");
    try
    {
        var result = TrainAndMeasure(architecture);
        File.WriteAllText(file, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"  {architecture}: {result.Parameters:N0} parameters, {result.TrainingSeconds / 60:F1} min, " +
                          string.Join(", ", result.Scores.Select(s => $"{s.Key} {s.Value.Psnr:F3} dB / {s.Value.Ssim:F4}")));
        results.Add(result);
    }
    catch (Exception e) when (e is not OutOfMemoryException)
    {
        Console.Error.WriteLine($"  {architecture}: FAILED: {e.GetBaseException().Message}");
        results.Add(new NetworkResult(architecture.ToString(), "-", 0, 0, 0, 0, 0, new(), e.GetBaseException().Message));
    }
}

Report.Write(output, settings, results, otherScales, work, quick);
Console.WriteLine($"Wrote {Path.Combine(output, quick ? "zoo-report-quick.md" : "zoo-report.md")} and {Path.Combine(output, "zoo-report")}/*.png");
int belowBicubic = results.Skip(1).Count(r => r.Error is null && r.Scores[settings.Sets[0]].Psnr <= results[0].Scores[settings.Sets[0]].Psnr);
int failed = results.Count(r => r.Error is not null);
if (failed + belowBicubic > 0)
    Console.WriteLine($"{failed} network(s) failed, {belowBicubic} did not beat bicubic on {settings.Sets[0]}.");
return quick || failed + belowBicubic == 0 ? 0 : 1;

NetworkResult TrainAndMeasure(SrArchitecture architecture)
{
    var channels = SrModelZoo.Get(architecture).Channels(SrPreset.Notes);
    int epochs = Math.Max(1, (int)Math.Round(settings.Patches / (double)(trainFiles.Length * settings.PatchesPerImage)));
    var options = new SuperResolutionOptions
    {
        Architecture = architecture,
        Preset = SrPreset.Notes,
        Channels = channels,
        Scale = settings.Scale,
        Epochs = epochs,
        PatchesPerImage = settings.PatchesPerImage,
        BatchSize = settings.BatchSize,
        PatchSize = settings.PatchSize,
        LearningRate = settings.LearningRateOf(architecture),
        LearningRateSchedule = SrLearningRateSchedule.Cosine,
        WarmupSteps = settings.WarmupSteps,
        GradientClipNorm = settings.ClipNorm,
        LogEveryNSteps = quick ? 0 : 500,
        CheckpointDirectory = Path.Combine(work, "checkpoints", architecture.ToString()),
        CheckpointEveryNEpochs = 2,
    };
    using var model = ml.Transforms.SuperResolution(options).Fit(train);
    var summary = model.TrainingSummary!;
    double patchesPerSecond = summary.Steps * settings.BatchSize / Math.Max(summary.Duration.TotalSeconds, 1e-9);
    var scores = Evaluate(model);
    double inferenceMs = InferenceMilliseconds(model);
    SaveCrop(model, architecture.ToString());
    return new NetworkResult(architecture.ToString(), channels.ToString(), model.ParameterCount, summary.Duration.TotalSeconds, patchesPerSecond,
        inferenceMs, summary.SkippedNonFiniteSteps, scores, null, options.LearningRate);
}

NetworkResult Bicubic()
{
    using var model = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, settings.Scale).Fit(benchmarks[settings.Sets[0]]);
    SaveCrop(model, "Bicubic");
    using var hr = Image.Load<Rgba32>(Path.Combine(shared, "data", "benchmark", settings.CropSet, $"x{settings.Scale}", "HR", settings.CropImage));
    hr.Mutate(x => x.Crop(settings.Crop));
    hr.SaveAsPng(Path.Combine(work, "crops", "HR.png"));
    return new NetworkResult("Bicubic", "Rgb", 0, 0, 0, InferenceMilliseconds(model), 0, Evaluate(model), null);
}

Dictionary<string, Score> Evaluate(SuperResolutionTransformer model)
    => settings.Sets.ToDictionary(set => set, set =>
    {
        var metrics = ml.SuperResolution().Evaluate(model.Transform(benchmarks[set]), settings.Scale, "HighRes", "SuperRes");
        return new Score(metrics.Psnr, metrics.Ssim);
    });

double InferenceMilliseconds(SuperResolutionTransformer model)
{
    using var upscaler = SuperResolutionUpscaler.FromTransformer(model);
    upscaler.Upscale(timingInput).Dispose(); // warm-up
    var times = new List<double>();
    for (int i = 0; i < settings.TimingRuns; i++)
    {
        var clock = Stopwatch.StartNew();
        upscaler.Upscale(timingInput).Dispose();
        times.Add(clock.Elapsed.TotalMilliseconds);
    }

    return times.Order().ElementAt(times.Count / 2);
}

void SaveCrop(SuperResolutionTransformer model, string name)
{
    string folder = Path.Combine(shared, "data", "benchmark", settings.CropSet, $"x{settings.Scale}");
    using var upscaler = SuperResolutionUpscaler.FromTransformer(model);
    using var low = Image.Load<Rgba32>(Path.Combine(folder, "LR", settings.CropImage));
    using var upscaled = upscaler.Upscale(low);
    upscaled.Mutate(x => x.Crop(settings.Crop));
    upscaled.SaveAsPng(Path.Combine(work, "crops", $"{name}.png"));
}

IDataView Benchmark(string set)
{
    string folder = Path.Combine(shared, "data", "benchmark", set, $"x{settings.Scale}");
    var rows = Directory.GetFiles(Path.Combine(folder, "HR"), "*.png").Order(StringComparer.Ordinal)
        .Select(hr => new PairRow { HighResPath = hr, LowResPath = Path.Combine(folder, "LR", Path.GetFileName(hr)) }).ToArray();
    var data = ml.Data.LoadFromEnumerable(rows);
    return ml.Transforms.LoadImages("HighRes", null, nameof(PairRow.HighResPath))
        .Append(ml.Transforms.LoadImages("LowRes", null, nameof(PairRow.LowResPath)))
        .Fit(data).Transform(data);
}

Image<Rgba32> TimingInput()
{
    var image = Image.Load<Rgba32>(Path.Combine(shared, "data", "train", "BSD100", Path.GetFileName(trainFiles[0])));
    int size = settings.TimingSize;
    image.Mutate(x => x.Crop(new Rectangle(0, 0, Math.Min(size, image.Width), Math.Min(size, image.Height))).Resize(size, size));
    return image;
}



/// <summary>The budget and data every network gets.</summary>
internal sealed record ReportSettings(int Scale, int Patches, int PatchesPerImage, int BatchSize, int PatchSize, double LearningRate,
    Dictionary<SrArchitecture, (double Rate, string Reason)> LearningRateOverrides, int WarmupSteps, double ClipNorm, int TrainingImages, string[] Sets, string CropSet,
    string CropImage, Rectangle Crop, int TimingSize, int TimingRuns)
{
    /// <summary>The peak learning rate <paramref name="architecture"/> trains at: the shared one unless overridden.</summary>
    public double LearningRateOf(SrArchitecture architecture)
        => LearningRateOverrides.TryGetValue(architecture, out var rate) ? rate.Rate : LearningRate;
}

/// <summary>PSNR (dB) and SSIM of one benchmark set.</summary>
internal sealed record Score(double Psnr, double Ssim);

/// <summary>One row of the report.</summary>
internal sealed record NetworkResult(string Network, string Channels, long Parameters, double TrainingSeconds, double PatchesPerSecond,
    double InferenceMs, int SkippedSteps, Dictionary<string, Score> Scores, string? Error, double? LearningRate = null);
