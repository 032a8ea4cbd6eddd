using Microsoft.ML;
using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr upscale</c>: upscales image files (a file, a folder, or a wildcard pattern) with a model zip, or with an
/// architecture and its PyTorch weights; keeps going past bad files and lists them at the end (exit code 1).
/// </summary>
internal sealed class UpscaleCommand : Command<UpscaleCommand.Settings>
{
    public sealed class Settings : NetworkWeightsSettings
    {
        [CommandArgument(0, "<INPUT>")]
        [Description("Image files, folders of images, or wildcard patterns in one folder (photos/*.jpg, as the shell expands it or quoted), any number; each file once, in the order given.")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("-o|--output <PATH>")]
        [Description("Output folder (default: 'upscaled' in the current folder), or an output file (.png, .jpg, .webp, .bmp) when INPUT is one file.")]
        public string? Output { get; init; }

        [CommandOption("--model <MODEL_ZIP>")]
        [Description("An ML.NET model zip (from Model.Save or `sr import`), or a community model's weights (.pth, .pt, .ckpt, .safetensors) whose network is detected. With neither --model nor --arch: the embedded default model for --scale (2, 3 or 4; default 2).")]
        public string? Model { get; init; }

        [CommandOption("--format <EXT>")]
        [Description("Output format for folders and patterns: png, jpg, webp or bmp (default: the input's when writable, else png).")]
        public string? Format { get; init; }

        [CommandOption("--jpeg-quality <Q>")]
        [Description("JPEG quality, 1..100.")]
        [DefaultValue(95)]
        public int JpegQuality { get; init; } = 95;

        [CommandOption("--max-pixels <N>")]
        [Description("Largest input image in pixels, checked before decoding.")]
        [DefaultValue(100_000_000L)]
        public long MaxPixels { get; init; } = 100_000_000;

        [CommandOption("--max-metadata <MB>")]
        [Description("Largest metadata item (EXIF, XMP, ICC profile, text chunk) once read, in MiB; larger ones are skipped unread with a warning.")]
        [DefaultValue(8)]
        public int MaxMetadata { get; init; } = 8;

        [CommandOption("--max-metadata-total <MB>")]
        [Description("Largest total of metadata per file once read, in MiB; what is beyond it is skipped unread with a warning.")]
        [DefaultValue(16)]
        public int MaxMetadataTotal { get; init; } = 16;

        [CommandOption("--refuse-oversized-metadata")]
        [Description("Refuse files whose metadata is beyond --max-metadata or --max-metadata-total (listed as failures) instead of skipping it.")]
        public bool RefuseOversizedMetadata { get; init; }

        [CommandOption("--tile <N>")]
        [Description("Tile size in input (LR) pixels; default: tiles only above 512x512 input pixels.")]
        public int? Tile { get; init; }

        [CommandOption("--overlap <N>")]
        [Description("Context around each tile in input pixels; default: the network's receptive field (exact result).")]
        public int? Overlap { get; init; }

        [CommandOption("--self-ensemble")]
        [Description("Average the network over the 8 flips and rotations (8x slower, usually a little better).")]
        public bool SelfEnsemble { get; init; }

        [CommandOption("--channels-last")]
        [Description("Run the network on channels-last activations on any device (the CPU's default; same result to float rounding).")]
        public bool ChannelsLast { get; init; }

        [CommandOption("--nchw")]
        [Description("Run the network on contiguous NCHW activations, also on the CPU (where channels-last is the default).")]
        public bool Nchw { get; init; }

        [CommandOption("--bf16")]
        [Description("Run the network in bfloat16 (faster on CPUs with AVX-512 BF16 or AMX; about one 8-bit level of difference; float32 on CPUs without them).")]
        public bool BFloat16 { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("cpu, cuda or cuda:N (CUDA needs a CUDA libtorch backend); default: cpu, or the device saved with --model.")]
        public string? Device { get; init; }

        [CommandOption("--threads <N>")]
        [Description("CPU threads for the network (default: libtorch's choice).")]
        public int? Threads { get; init; }

        public override ValidationResult Validate()
        {
            if (Model is not null && Architecture is not null)
                return ValidationResult.Error("Give either --model model.zip or --arch A [--weights file], not both; with neither, the embedded default weights are used.");
            if (ModelFile is null && Architecture is null && Scale is { } scale && !SrDefaultModel.Scales.Contains(scale))
                return ValidationResult.Error($"No default weights for --scale {scale}; they exist for {string.Join(", ", SrDefaultModel.Scales)}. Pass --model or --arch/--weights.");
            if (Model is not null && !File.Exists(Model))
                return ValidationResult.Error($"Model file not found: {Model}");
            if (Architecture is not null && NetworkProblem() is { } problem)
                return ValidationResult.Error(problem);
            if (WeightsAsModel && !File.Exists(Weights))
                return ValidationResult.Error($"Weights file not found: {Weights}");
            if (Architecture is null && (WeightsAsModel ? OptionsNeedingArchitecture("--weights alone is read as --model (its network detected from the file).", weights: false)
                    : OptionsNeedingArchitecture(Model is null
                        ? "the embedded default model is RGB EDSR (give --arch A --scale S --weights FILE for other weights)."
                        : "--model's file says its network itself.")) is { } ignored)
                return ValidationResult.Error(ignored);

            if (Format is not null && !WritableExtensions.Contains(Format.TrimStart('.').ToLowerInvariant()))
                return ValidationResult.Error($"Unknown --format '{Format}'; one of: png, jpg, webp, bmp.");
            if (OutputProblem() is { } outputProblem)
                return ValidationResult.Error(outputProblem);
            if (JpegQuality is < 1 or > 100)
                return ValidationResult.Error("--jpeg-quality is 1..100.");
            if (MaxPixels < 1)
                return ValidationResult.Error("--max-pixels must be positive.");
            if (MaxMetadata < 0 || MaxMetadataTotal < 0)
                return ValidationResult.Error("--max-metadata and --max-metadata-total are 0 or more MiB.");
            if (Tile is < SrInferenceOptions.MinTileSize)
                return ValidationResult.Error($"--tile must be at least {SrInferenceOptions.MinTileSize}.");
            if (Overlap is < 0)
                return ValidationResult.Error("--overlap must be 0 or more.");
            if (Device is not null && !IsDeviceName(Device))
                return ValidationResult.Error($"Unknown --device '{Device}'; use cpu, cuda or cuda:N.");
            if (Threads is < 1)
                return ValidationResult.Error("--threads must be at least 1.");
            if (ChannelsLast && Nchw)
                return ValidationResult.Error("Give --channels-last or --nchw, not both (neither: channels-last on the CPU, NCHW elsewhere).");
            return ValidationResult.Success();
        }

        /// <summary>--weights FILE with neither --arch nor --model: the file's network is detected, as with --model FILE.</summary>
        internal bool WeightsAsModel => Weights is not null && Architecture is null && Model is null;

        /// <summary>The file --model names, or --weights read as --model.</summary>
        internal string? ModelFile => Model ?? (WeightsAsModel ? Weights : null);

        /// <summary>Whether -o names one output file: one input that is a file, and an output with an extension that is no folder.</summary>
        internal bool WritesOneFile => Inputs.Length == 1 && File.Exists(Inputs[0]) && Output is not null && Path.HasExtension(Output) && !Directory.Exists(Output);

        /// <summary>What is wrong with -o (and --format) before anything loads, or null.</summary>
        private string? OutputProblem()
        {
            if (Output is null)
                return null;
            string extension = Path.GetExtension(Output).TrimStart('.').ToLowerInvariant();
            if (WritesOneFile)
            {
                if (!WritableExtensions.Contains(extension))
                    return $"-o {Output}: cannot write .{extension} images; name a .png, .jpg, .webp or .bmp file.";
                if (Format is not null && NormalizedFormat(Format) != NormalizedFormat(extension))
                    return $"--format {Format} and -o {Output} disagree; the output file's extension is its format (drop --format, or name the file .{Format.TrimStart('.')}).";
            }
            else if (!Directory.Exists(Output) && InputFiles.IsImage(Output) && !(Inputs.Length == 1 && File.Exists(Inputs[0])))
            {
                return $"-o {Output} names an image file, but the input{(Inputs.Length == 1 ? $" '{Inputs[0]}' is not one file" : $"s are {Inputs.Length}")}; give an output folder.";
            }

            return null;
        }

        private static string NormalizedFormat(string format) => format.TrimStart('.').ToLowerInvariant() is "jpeg" ? "jpg" : format.TrimStart('.').ToLowerInvariant();
    }

    private const string NotStarted = "not started (interrupted)";

    /// <summary>The output formats the upscaler writes.</summary>
    private static readonly string[] WritableExtensions = ["png", "jpg", "jpeg", "webp", "bmp"];

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        List<string> inputs;
        try
        {
            inputs = InputFiles.Resolve(settings.Inputs);
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }

        if (inputs.Count == 0)
        {
            Console.Error.WriteLine($"error: no image files in {InputFiles.Describe(settings.Inputs)}.");
            return ExitCodes.Failed;
        }

        if (!settings.WritesOneFile)
        {
            // Two inputs of one name in different folders would write one output file twice.
            var clash = inputs.GroupBy(i => OutputName(i, 0, settings.Format), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null)
            {
                Console.Error.WriteLine($"error: {string.Join(" and ", clash.Take(2))} would be written to one output file; upscale them into separate folders (-o).");
                return ExitCodes.Usage;
            }
        }

        if (settings.Threads is { } threads)
            TorchSharp.torch.set_num_threads(threads);

        SuperResolutionTransformer? owned = null;
        SuperResolutionUpscaler upscaler;
        try
        {
            (upscaler, owned) = CreateUpscaler(settings);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }

        using var ownedTransformer = owned;
        using (upscaler)
        {
            upscaler.MaxInputPixels = settings.MaxPixels;
            upscaler.MetadataLimits = new SrMetadataLimits
            {
                MaxItemBytes = (long)settings.MaxMetadata << 20,
                MaxTotalBytes = (long)settings.MaxMetadataTotal << 20,
                WhenExceeded = settings.RefuseOversizedMetadata ? SrOversizedMetadata.Refuse : SrOversizedMetadata.Drop,
            };
            upscaler.JpegQuality = settings.JpegQuality;
            if (upscaler.PrecisionFallback is { } reason) // --bf16, or a model saved with bfloat16, on a CPU without it
                Console.Error.WriteLine($"note: {reason}");
            return Run(upscaler, inputs, settings, cancellationToken);
        }
    }

    private static int Run(SuperResolutionUpscaler upscaler, List<string> inputs, Settings settings, CancellationToken cancellationToken)
    {
        bool singleFileOutput = settings.WritesOneFile;
        string outputFolder = singleFileOutput ? string.Empty : Path.GetFullPath(settings.Output ?? "upscaled");
        var failures = new List<(string File, string Reason)>();
        var warnings = new List<string>();
        upscaler.Warning += (_, e) => warnings.Add(e.Message); // printed after the progress display, which owns the console
        long megapixelsIn = 0;
        var clock = Stopwatch.StartNew();
        AnsiConsole.MarkupLineInterpolated($"Upscaling {inputs.Count} file(s) x{upscaler.Scale} with {upscaler.Architecture} ({upscaler.Channels}).");

        // One file: read, upscale, write; false when it failed (its reason in failures) or was not started.
        bool UpscaleOne(string input)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                failures.Add((input, NotStarted));
                return false;
            }

            string output = singleFileOutput ? settings.Output! : Path.Combine(outputFolder, OutputName(input, upscaler.Scale, settings.Format));
            try
            {
                upscaler.UpscaleFile(input, output);
                var info = SixLabors.ImageSharp.Image.Identify(output);
                megapixelsIn += (long)info.Width * info.Height / (upscaler.Scale * upscaler.Scale);
                return true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
            {
                failures.Add((input, e.Message));
                return false;
            }
        }

        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            // A terminal: one live region of two rows, the overall bar and the current file's (tile by tile when the
            // image is tiled), redrawn in place.
            ProgressTask? current = null;
            upscaler.TileProgress += (_, e) =>
            {
                if (current is null)
                    return;
                current.MaxValue = e.TileCount;
                current.Value = e.TilesDone;
            };
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(progress =>
                {
                    var overall = progress.AddTask($"all {inputs.Count} files", maxValue: inputs.Count);
                    var file = progress.AddTask(Markup.Escape(Path.GetFileName(inputs[0])), maxValue: 1);
                    foreach (var input in inputs)
                    {
                        file.Description = Markup.Escape(Path.GetFileName(input));
                        file.MaxValue = 1;
                        file.Value = 0;
                        current = file;
                        UpscaleOne(input);
                        current = null;
                        file.Value = file.MaxValue;
                        overall.Increment(1);
                    }

                    file.StopTask();
                });
        }
        else
        {
            // Piped or redirected: a plain line per file, as a log reads.
            for (int i = 0; i < inputs.Count; i++)
            {
                var fileClock = Stopwatch.StartNew();
                bool written = UpscaleOne(inputs[i]);
                if (written || failures[^1].Reason != NotStarted)
                    Console.Out.WriteLine($"[{i + 1}/{inputs.Count}] {inputs[i]}: {(written ? $"written, {fileClock.Elapsed.TotalSeconds:F1} s" : "failed (listed at the end)")}");
            }
        }

        int done = inputs.Count - failures.Count; // before the not-started ones leave the failures
        foreach (var warning in warnings)
            Console.Error.WriteLine($"warning: {warning}");
        long peak = Process.GetCurrentProcess().PeakWorkingSet64; // 0 where the platform does not report it
        string memory = peak > 0 ? $", peak memory {peak / (1 << 20)} MB" : "";
        AnsiConsole.MarkupLineInterpolated(
            $"Done: {done} of {inputs.Count} file(s), {megapixelsIn / 1e6:F2} input megapixels, {clock.Elapsed.TotalSeconds:F1} s{memory} -> {(singleFileOutput ? Path.GetFullPath(settings.Output!) : outputFolder)}");
        var notStarted = failures.Where(f => f.Reason == NotStarted).Select(f => f.File).ToList();
        failures.RemoveAll(f => f.Reason == NotStarted);
        if (failures.Count > 0)
        {
            Console.Error.WriteLine($"{failures.Count} file(s) failed:");
            foreach (var (file, reason) in failures)
                Console.Error.WriteLine($"  {file}: {reason}");
        }

        if (notStarted.Count > 0)
        {
            // Each output is written whole (to a temporary name, then moved) or not at all: no half-written files remain.
            Console.Error.WriteLine($"Interrupted: {done} of {inputs.Count} file(s) written; {notStarted.Count} not started (from {notStarted[0]}). " +
                                    "Run the command again with those inputs to finish.");
            return ExitCodes.Interrupted;
        }

        return failures.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static (SuperResolutionUpscaler Upscaler, SuperResolutionTransformer? Owned) CreateUpscaler(Settings settings)
    {
        var inference = settings.Tile is null && settings.Overlap is null && !settings.SelfEnsemble && !settings.ChannelsLast && !settings.Nchw && !settings.BFloat16
            ? null
            : new SrInferenceOptions
            {
                TileSize = settings.Tile,
                TileOverlap = settings.Overlap,
                SelfEnsemble = settings.SelfEnsemble,
                ChannelsLast = settings.ChannelsLast ? true : settings.Nchw ? false : null,
                Precision = settings.BFloat16 ? SrPrecision.BFloat16 : SrPrecision.Float32,
            };
        if (settings.ModelFile is { } modelFile)
        {
            var fromFile = SuperResolutionUpscaler.FromModelFile(modelFile, inference, settings.Device);
            if (settings.Scale is { } scale && scale != fromFile.Scale)
            {
                fromFile.Dispose();
                throw new ArgumentException($"--scale {scale} does not match the model, which upscales x{fromFile.Scale}.");
            }

            return (fromFile, null);
        }

        if (settings.Architecture is null)
            return (SuperResolutionUpscaler.FromDefaultModel(settings.Scale ?? 2, inference, settings.Device ?? "cpu"), null);

        var (transformer, _) = settings.CreateTransformer(new MLContext(), device: settings.Device ?? "cpu");
        return (SuperResolutionUpscaler.FromTransformer(transformer, inference), transformer);
    }

    private static bool IsDeviceName(string device)
    {
        string text = device.Trim().ToLowerInvariant();
        return text is "cpu" or "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text[5..], out int index) && index >= 0);
    }

    private static string OutputName(string input, int scale, string? format)
    {
        string extension = format is not null
            ? "." + format.TrimStart('.').ToLowerInvariant()
            : Path.GetExtension(input).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg" or ".webp" or ".bmp" ? Path.GetExtension(input) : ".png";
        return $"{Path.GetFileNameWithoutExtension(input)}-x{scale}{extension}";
    }
}
