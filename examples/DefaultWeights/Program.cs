// Trains and evaluates the default weights that MLNet.SuperResolution embeds (docs/default-weights.md).
//
//   dotnet run -c Release --project examples/DefaultWeights -- train --scale 2 [--out artifacts/default-weights]
//        [--feat 32] [--blocks 8] [--epochs 60] [--patches-per-image 64] [--batch 16] [--lr 5e-4] [--init x2.safetensors]
//        [--shared ../shared] [--minutes M]
//   dotnet run -c Release --project examples/DefaultWeights -- eval <model.zip> [--shared ../shared]
//   dotnet run -c Release --project examples/DefaultWeights -- figure <photo> [--scale 4] [--crop x,y,w,h] [--zoom 2]
//        [--out docs/before-after-x4.png]
//
// train: EDSR (baseline form: no residual scaling) on the 100 BSD100 photos, LR made by DownscaleImages (the protocol's
// bicubic), L1 loss, Adam, cosine schedule; checkpoints under <out>/x<scale>/ so a killed run resumes where it stopped.
// Writes <out>/edsr-default-x<scale>.zip (ML.NET model) and .safetensors (PyTorch state_dict, to start x3/x4 from),
// then prints the Set5/Set14 table next to bicubic and the imported public FSRCNN weights.
// figure: the README's before/after picture: the photo downscaled by the scale (the protocol's bicubic), then upscaled
// back by bicubic and by the embedded default model, next to the original; a crop of each, enlarged by --zoom.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MLNet.SuperResolution;
using MLNet.SuperResolution.Architectures;

var options = Arguments.Parse(args.Skip(args.FirstOrDefault() == "train" ? 1 : 2).ToArray());
string shared = Path.GetFullPath(options.Get("shared", Path.Combine("..", "shared")));
if (args.FirstOrDefault() != "figure" && !Directory.Exists(Path.Combine(shared, "data", "benchmark")))
{
    Console.Error.WriteLine($"Data not found under {shared}; pass --shared <dir>.");
    return 2;
}

var ml = new MLContext(seed: 1);
ml.Log += (_, e) =>
{
    if (e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal) && e.Kind >= Microsoft.ML.Runtime.ChannelMessageKind.Info)
        Console.WriteLine($"  {DateTime.Now:HH:mm:ss} [{e.Kind}] {e.RawMessage}");
};

switch (args.FirstOrDefault())
{
    case "train":
        return Train();
    case "figure" when args.Length >= 2:
        return Figure(args[1]);
    case "eval" when args.Length >= 2:
        return Evaluate(ml.Model.Load(args[1], out _), ReadScale(args[1]));
    default:
        Console.Error.WriteLine("usage: DefaultWeights train --scale 2|3|4 [...] | eval <model.zip> | figure <photo> [--scale 4] [--crop x,y,w,h]");
        return 2;
}

int Train()
{
    int scale = options.GetInt("scale", 2);
    string output = Path.GetFullPath(options.Get("out", Path.Combine("artifacts", "default-weights")));
    string checkpoints = Path.Combine(output, $"x{scale}");
    Directory.CreateDirectory(checkpoints);
    var train = Directory.GetFiles(Path.Combine(shared, "data", "train", "BSD100"), "*.png").OrderBy(p => p, StringComparer.Ordinal)
        .Select(p => new PathRow { Path = p }).ToArray();
    IDataView data = ml.Data.LoadFromEnumerable(train);
    var network = EdsrBaselineOptions.Paper with { NumFeat = options.GetInt("feat", 32), NumBlock = options.GetInt("blocks", 8) };
    var srOptions = new SuperResolutionOptions
    {
        Architecture = SrArchitecture.EdsrBaseline,
        NetworkOptions = network,
        Scale = scale,
        Channels = SrChannels.Rgb,
        Epochs = options.GetInt("epochs", 60),
        PatchesPerImage = options.GetInt("patches-per-image", 64),
        BatchSize = options.GetInt("batch", 16),
        PatchSize = options.GetInt("patch", 48 * scale),
        LearningRate = options.GetDouble("lr", 5e-4),
        LearningRateSchedule = SrLearningRateSchedule.Cosine,
        WarmupSteps = options.GetInt("warmup", 200),
        Loss = SrLoss.L1,
        LogEveryNSteps = 100,
        CheckpointDirectory = checkpoints,
        InitialWeightsPath = options.GetOrNull("init") is { } init ? Path.GetFullPath(init) : null,
        InitialWeightsSkipMismatched = true,
        MaxTrainingTime = options.GetOrNull("minutes") is { } minutes ? TimeSpan.FromMinutes(double.Parse(minutes, CultureInfo.InvariantCulture)) : null,
    };
    Console.WriteLine($"Training EDSR (NumFeat {network.NumFeat}, NumBlock {network.NumBlock}) x{scale} on {train.Length} BSD100 photos, " +
                      $"{srOptions.Epochs} epochs x {srOptions.PatchesPerImage} patches/image, HR patch {srOptions.PatchSize}, threads {TorchSharp.torch.get_num_threads()}.");
    var pipeline = ml.Transforms.LoadImages("HighRes", null, nameof(PathRow.Path))
        .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
        .Append(ml.Transforms.SuperResolution(srOptions));
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(data);
    var sr = model.LastTransformer;
    Console.WriteLine($"Trained in {clock.Elapsed.TotalMinutes:F1} min this run ({sr.TrainingSummary?.Duration.TotalMinutes:F1} min in all, " +
                      $"{sr.TrainingSummary?.Steps} steps, {sr.TrainingSummary?.SkippedNonFiniteSteps} skipped, stop: {sr.TrainingSummary?.StopReason}); {sr.ParameterCount:N0} parameters.");

    // The model applied to a LowRes column: what the library embeds (no HR needed at inference).
    string zip = Path.Combine(output, $"edsr-default-x{scale}.zip");
    ml.Model.Save(sr, null, zip);
    sr.SaveWeights(Path.ChangeExtension(zip, ".safetensors"));
    Console.WriteLine($"Saved {zip} ({new FileInfo(zip).Length / 1024.0 / 1024:F2} MiB) and {Path.GetFileName(Path.ChangeExtension(zip, ".safetensors"))}.");
    return Evaluate(sr, scale);
}

int Evaluate(ITransformer superResolution, int scale)
{
    Console.WriteLine();
    Console.WriteLine($"| set | x{scale} | PSNR (dB) | SSIM |");
    Console.WriteLine("|---|---|---|---|");
    foreach (string set in new[] { "Set5", "Set14" })
    {
        string folder = Path.Combine(shared, "data", "benchmark", set, $"x{scale}");
        var rows = Directory.GetFiles(Path.Combine(folder, "HR"), "*.png").OrderBy(p => p, StringComparer.Ordinal)
            .Select(hr => new PairRow { HighResPath = hr, LowResPath = Path.Combine(folder, "LR", Path.GetFileName(hr)) }).ToArray();
        IDataView data = ml.Data.LoadFromEnumerable(rows);
        var load = ml.Transforms.LoadImages("HighRes", null, nameof(PairRow.HighResPath))
            .Append(ml.Transforms.LoadImages("LowRes", null, nameof(PairRow.LowResPath)));
        var loaded = load.Fit(data).Transform(data);
        Row("bicubic", ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale).Fit(loaded).Transform(loaded));
        string fsrcnn = Path.Combine(shared, "weights", "fsrcnn", $"fsrcnn_x{scale}.pth");
        if (File.Exists(fsrcnn))
            Row("FSRCNN (public weights)", ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Fsrcnn, scale, fsrcnn, SrChannels.Y).Fit(loaded).Transform(loaded));
        var clock = Stopwatch.StartNew();
        Row("this model", superResolution.Transform(loaded), clock);

        void Row(string method, IDataView upscaled, Stopwatch? time = null)
        {
            var m = ml.SuperResolution().Evaluate(upscaled, scale: scale, labelColumnName: "HighRes", scoreColumnName: "SuperRes");
            Console.WriteLine($"| {set} | {method} | {m.Psnr:F3} | {m.Ssim:F4} |{(time is null ? "" : $" {time.Elapsed.TotalSeconds:F1} s")}");
        }
    }

    return 0;
}

int Figure(string photo)
{
    int scale = options.GetInt("scale", 4), zoom = options.GetInt("zoom", 2);
    string output = Path.GetFullPath(options.Get("out", Path.Combine("docs", $"before-after-x{scale}.png")));
    IDataView data = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = Path.GetFullPath(photo) } });
    var model = ml.Transforms.LoadImages("HighRes", null, nameof(PathRow.Path))
        .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
        .Append(ml.Transforms.ApplySuperResolutionModel("Bicubic", "LowRes", SrArchitecture.Bicubic, scale))
        .Append(ml.Transforms.ApplySuperResolutionModel("Default", "LowRes", scale))
        .Fit(data);
    var upscaled = model.Transform(data);
    var panels = new List<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>>();
    int[] crop = options.Get("crop", "0,0,160,120").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    foreach (string column in new[] { "Bicubic", "Default", "HighRes" })
    {
        using var cursor = upscaled.GetRowCursor(new[] { upscaled.Schema[column] });
        var getter = cursor.GetGetter<Microsoft.ML.Data.MLImage>(upscaled.Schema[column]);
        cursor.MoveNext();
        Microsoft.ML.Data.MLImage image = null!;
        getter(ref image);
        var panel = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(crop[2] * zoom, crop[3] * zoom);
        var bgra = image.Pixels;
        for (int y = 0; y < panel.Height; y++)
            for (int x = 0; x < panel.Width; x++)
            {
                int p = 4 * ((crop[1] + y / zoom) * image.Width + crop[0] + x / zoom);
                panel[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgba32(bgra[p + 2], bgra[p + 1], bgra[p], 255);
            }

        image.Dispose();
        panels.Add(panel);
    }

    const int Gap = 8;
    using var figure = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(
        panels.Sum(p => p.Width) + Gap * (panels.Count - 1), panels[0].Height, new SixLabors.ImageSharp.PixelFormats.Rgba32(255, 255, 255, 255));
    for (int i = 0, left = 0; i < panels.Count; left += panels[i].Width + Gap, i++)
        for (int y = 0; y < panels[i].Height; y++)
            for (int x = 0; x < panels[i].Width; x++)
                figure[left + x, y] = panels[i][x, y];
    Directory.CreateDirectory(Path.GetDirectoryName(output)!);
    SixLabors.ImageSharp.ImageExtensions.SaveAsPng(figure, output);
    foreach (var panel in panels)
        panel.Dispose();
    foreach (string column in new[] { "Bicubic", "Default" })
    {
        var m = ml.SuperResolution().Evaluate(upscaled, scale: scale, labelColumnName: "HighRes", scoreColumnName: column);
        Console.WriteLine($"{Path.GetFileName(photo)} x{scale} {column}: {m.Psnr:F3} dB / {m.Ssim:F4} (whole photo, the protocol)");
    }

    Console.WriteLine($"Wrote {output}: bicubic | default model | original, crop {string.Join(",", crop)} of the x{scale} result, zoom {zoom}.");
    return 0;
}

static int ReadScale(string path)
{
    var digits = new string(Path.GetFileNameWithoutExtension(path).Reverse().TakeWhile(char.IsDigit).Reverse().ToArray());
    return int.Parse(digits, CultureInfo.InvariantCulture);
}
