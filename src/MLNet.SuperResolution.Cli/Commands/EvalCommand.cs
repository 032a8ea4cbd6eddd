using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr eval</c>: the SR protocol (docs/protocol.md: PSNR and SSIM on the BT.601 Y channel, <c>scale</c> pixels shaved
/// from each border) for a model on high-resolution images, next to bicubic; the low-resolution inputs are given files
/// (e.g. MATLAB-made, paired by file name) or made with <c>DownscaleImages</c>. Prints a table, or JSON with <c>--json</c>.
/// </summary>
internal sealed class EvalCommand : Command<EvalCommand.Settings>
{
    private const string HighResColumn = "EvalHighRes";

    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<HR_IMAGES>")]
        [Description("High-resolution (ground-truth) images: files, folders, or wildcard patterns in one folder, any number (each file once).")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("--model <MODEL_ZIP>")]
        [Description("The model zip (from `sr train`, `sr import` or Model.Save), or a community model's weights (.pth, .safetensors), detected; default: the embedded default model for --scale.")]
        public string? Model { get; init; }

        [CommandOption("--low-res <LR_FOLDER>")]
        [Description("A folder of low-resolution inputs with the same file names (e.g. the MATLAB-made LR files of a benchmark); default: made with DownscaleImages (MATLAB bicubic).")]
        public string? LowResFolder { get; init; }

        /// <summary>The old name of --low-res (hidden; `sr train` used --lr for its learning rate).</summary>
        [CommandOption("--lr <LR_FOLDER>", IsHidden = true)]
        public string? LowResOldName { get; init; }

        /// <summary>The low-resolution folder, by either name.</summary>
        internal string? LowRes => LowResFolder ?? LowResOldName;

        [CommandOption("-s|--scale <SCALE>")]
        [Description("Checked against --model when given; without --model, the embedded default model's scale (2, 3 or 4; default 2).")]
        public int? Scale { get; init; }

        [CommandOption("--skip-bad-images")]
        [Description("Leave out images that cannot be read or do not match the scale (listed), instead of stopping.")]
        public bool SkipBadImages { get; init; }

        [CommandOption("--json")]
        [Description("Print the results as JSON (per image and mean, model and bicubic).")]
        public bool Json { get; init; }

        public override ValidationResult Validate()
        {
            if (Model is null && Scale is { } scale && !SrDefaultModel.Scales.Contains(scale))
                return ValidationResult.Error($"No default weights for --scale {scale}; they exist for {string.Join(", ", SrDefaultModel.Scales)}. Pass --model.");
            if (Model is not null && !File.Exists(Model))
                return ValidationResult.Error($"Model file not found: {Model}");
            if (LowResFolder is not null && LowResOldName is not null)
                return ValidationResult.Error("Give --low-res once (--lr is its old name).");
            if (LowRes is not null && !Directory.Exists(LowRes))
                return ValidationResult.Error($"--low-res folder not found: {LowRes}");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var ml = new MLContext(seed: 1);
        ITransformer loaded;
        try
        {
            // A model zip, or a weights file whose network is detected (a community model).
            loaded = settings.Model is null
                ? ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: settings.Scale ?? 2).Fit(NetworkWeightsSettings.ImageInput(ml, "LowRes"))
                : SrModelFile.IsMLNetModel(settings.Model)
                ? ml.Model.Load(settings.Model, out _)
                : ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", settings.Model!).Fit(NetworkWeightsSettings.ImageInput(ml, "LowRes"));
        }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: '{settings.Model}' could not be loaded as an ML.NET model: {e.GetBaseException().Message}");
            return ExitCodes.Failed;
        }

        var steps = loaded is IEnumerable<ITransformer> chain ? chain.ToList() : [loaded];
        try
        {
            var model = steps.OfType<SuperResolutionTransformer>().LastOrDefault();
            if (model is null)
            {
                Console.Error.WriteLine($"error: '{settings.Model}' holds no super-resolution transform.");
                return ExitCodes.Failed;
            }

            int scale = model.Scale;
            if (settings.Scale is { } wanted && wanted != scale)
            {
                Console.Error.WriteLine($"error: --scale {wanted} does not match the model, which upscales x{scale}.");
                return ExitCodes.Failed;
            }

            var files = InputFiles.Resolve(settings.Inputs);
            if (files.Count == 0)
            {
                Console.Error.WriteLine($"error: no images in {InputFiles.Describe(settings.Inputs)}.");
                return ExitCodes.Failed;
            }

            var rows = files.Select(f => new EvalRow
            {
                HighResPath = Path.GetFullPath(f),
                LowResPath = settings.LowRes is null ? string.Empty : Path.GetFullPath(Path.Combine(settings.LowRes, Path.GetFileName(f))),
            }).ToArray();
            var missing = rows.Where(r => settings.LowRes is not null && !File.Exists(r.LowResPath)).Select(r => r.LowResPath).ToList();
            if (missing.Count > 0)
            {
                Console.Error.WriteLine($"error: no low-resolution file for {missing.Count} image(s): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}");
                return ExitCodes.Failed;
            }

            var usable = new List<EvalRow>();
            foreach (var row in rows)
            {
                try
                {
                    string[] paths = settings.LowRes is null ? [row.HighResPath] : [row.HighResPath, row.LowResPath];
                    foreach (string path in paths)
                        if (SrImageFiles.Check(path).Warning is { } warning)
                            Console.Error.WriteLine($"warning: {warning}");
                    usable.Add(row);
                }
                catch (InvalidDataException e) when (settings.SkipBadImages)
                {
                    Console.Error.WriteLine($"warning: skipped: {e.Message}");
                }
            }

            if (usable.Count == 0)
            {
                Console.Error.WriteLine("error: none of the images can be read.");
                return ExitCodes.Failed;
            }

            rows = usable.ToArray();
            files = rows.Select(r => r.HighResPath).ToList();

            IDataView data = ml.Data.LoadFromEnumerable(rows);
            var load = ml.Transforms.LoadImages(HighResColumn, null, nameof(EvalRow.HighResPath));
            IEstimator<ITransformer> images = settings.LowRes is null
                ? load.Append(ml.Transforms.DownscaleImages(model.InputColumnName, scale, HighResColumn))
                : load.Append(ml.Transforms.LoadImages(model.InputColumnName, null, nameof(EvalRow.LowResPath)));
            var inputs = images.Fit(data).Transform(data);
            var bicubic = ml.Transforms.ApplySuperResolutionModel(model.OutputColumnName, model.InputColumnName, SrArchitecture.Bicubic, scale).Fit(inputs);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var handling = settings.SkipBadImages ? SrBadRowHandling.Skip : SrBadRowHandling.Fail;
            var ours = ml.SuperResolution().Evaluate(model.Transform(inputs), scale, HighResColumn, model.OutputColumnName, handling);
            double seconds = clock.Elapsed.TotalSeconds;
            var baseline = ml.SuperResolution().Evaluate(bicubic.Transform(inputs), scale, HighResColumn, model.OutputColumnName, handling);
            foreach (var skipped in ours.SkippedRows)
                Console.Error.WriteLine($"warning: skipped {Path.GetFileName(files[(int)skipped.Index])}: {skipped.Reason}");
            Report(settings, model, files, ours, baseline, seconds);
            if (ours.Psnr < baseline.Psnr && scale > 1)
                Console.Error.WriteLine(
                    $"warning: the model scores {baseline.Psnr - ours.Psnr:F2} dB below bicubic on these images. Likely causes: a model for another scale, " +
                    "channel mode or degradation than these low-resolution inputs, weights of another network, or too little training.");
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.GetBaseException().Message}");
            return ExitCodes.Failed;
        }
        finally
        {
            foreach (var step in steps.OfType<IDisposable>())
                step.Dispose();
        }
    }

    private static void Report(Settings settings, SuperResolutionTransformer model, List<string> files, SuperResolutionMetrics ours,
        SuperResolutionMetrics bicubic, double seconds)
    {
        string name = settings.Model is null ? "default model" : Path.GetFileName(settings.Model);
        if (settings.Json)
        {
            var result = new
            {
                model = name,
                architecture = model.Architecture.ToString(),
                scale = model.Scale,
                lowRes = settings.LowRes is null ? "DownscaleImages (MATLAB bicubic)" : Path.GetFullPath(settings.LowRes),
                protocol = "PSNR/SSIM on BT.601 Y, scale pixels shaved from each border, averaged over images",
                mean = new { psnr = ours.Psnr, ssim = ours.Ssim, bicubicPsnr = bicubic.Psnr, bicubicSsim = bicubic.Ssim },
                seconds,
                skipped = ours.SkippedRows.Select(r => new { file = Path.GetFileName(files[(int)r.Index]), reason = r.Reason }),
                images = ours.PerImage.Select((m, i) => new
                {
                    file = Path.GetFileName(files[m.Index]),
                    psnr = m.Psnr,
                    ssim = m.Ssim,
                    bicubicPsnr = bicubic.PerImage[i].Psnr,
                    bicubicSsim = bicubic.PerImage[i].Ssim,
                }),
            };
            // A perfect reconstruction has an infinite PSNR, written as the string "Infinity" (JSON has no such number).
            var json = new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
            Console.Out.WriteLine(JsonSerializer.Serialize(result, json));
            return;
        }

        var table = new Table().Title(Markup.Escape($"{name}: {model.Architecture} x{model.Scale}, Y channel, border {model.Scale}"))
            .AddColumn("image").AddColumn(new TableColumn("bicubic PSNR").RightAligned()).AddColumn(new TableColumn("SSIM").RightAligned())
            .AddColumn(new TableColumn("model PSNR").RightAligned()).AddColumn(new TableColumn("SSIM").RightAligned());
        for (int i = 0; i < ours.PerImage.Count; i++)
            table.AddRow(Markup.Escape(Path.GetFileName(files[ours.PerImage[i].Index])), F(bicubic.PerImage[i].Psnr, 3), F(bicubic.PerImage[i].Ssim, 4), F(ours.PerImage[i].Psnr, 3), F(ours.PerImage[i].Ssim, 4));
        table.AddRow("[bold]mean[/]", $"[bold]{F(bicubic.Psnr, 3)}[/]", $"[bold]{F(bicubic.Ssim, 4)}[/]", $"[bold]{F(ours.Psnr, 3)}[/]", $"[bold]{F(ours.Ssim, 4)}[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"{ours.Count} image(s), model {seconds:F1} s; low-resolution inputs: {settings.LowRes ?? "DownscaleImages (MATLAB bicubic)"}.");

        static string F(double value, int digits) => value.ToString("F" + digits, CultureInfo.InvariantCulture);
    }

    /// <summary>A ground-truth file and its optional given low-resolution file.</summary>
    private sealed class EvalRow
    {
        public string HighResPath { get; set; } = string.Empty;

        public string LowResPath { get; set; } = string.Empty;
    }
}
