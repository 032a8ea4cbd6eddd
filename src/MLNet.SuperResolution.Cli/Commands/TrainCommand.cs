using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using MLNet.SuperResolution.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr train</c>: trains a network on a folder of high-resolution images (the low-resolution inputs are made with the
/// protocol's bicubic, <c>DownscaleImages</c>), with a progress bar, and saves an ML.NET model zip that
/// <c>sr upscale --model</c>, <c>sr eval</c> and <c>mlContext.Model.Load</c> read. With <c>--checkpoint-dir</c> an
/// interrupted run (Ctrl+C, a crash, a power cut) continues where its last checkpoint left it when run again.
/// </summary>
internal sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<HR_IMAGES>")]
        [Description("High-resolution training images: files, folders, or wildcard patterns in one folder, any number (each file once).")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("-o|--output <MODEL_ZIP>")]
        [Description("The ML.NET model zip to write (replaced atomically).")]
        public string? Output { get; init; }

        [CommandOption("--arch <ARCHITECTURE>")]
        [Description("The network (see `sr models`); default Espcn, or with --init and a community model's file, the file's network (detected).")]
        public string? Architecture { get; init; }

        [CommandOption("-s|--scale <SCALE>")]
        [Description("The upscaling factor; default 2, or the --init file's when its network is detected.")]
        public int? Scale { get; init; }

        [CommandOption("--preset <PRESET>")]
        [Description("Paper (the paper's configuration) or Notes (the small one).")]
        [DefaultValue("Paper")]
        public string Preset { get; init; } = "Paper";

        [CommandOption("--channels <CHANNELS>")]
        [Description("Rgb, Y (the protocol's studio-swing luma) or Gray (full-range luma); default: the channels of the preset (Paper: the paper's).")]
        public string? Channels { get; init; }

        [CommandOption("--epochs <N>")]
        [Description("Passes over the images; each draws --patches-per-image random patches per image.")]
        [DefaultValue(10)]
        public int Epochs { get; init; } = 10;

        [CommandOption("--patches-per-image <N>")]
        [Description("Random patches drawn from each image per epoch.")]
        [DefaultValue(16)]
        public int PatchesPerImage { get; init; } = 16;

        [CommandOption("--batch <N>")]
        [Description("Patches per optimisation step.")]
        [DefaultValue(16)]
        public int Batch { get; init; } = 16;

        [CommandOption("--patch <N>")]
        [Description("Patch side in high-resolution pixels.")]
        [DefaultValue(48)]
        public int Patch { get; init; } = 48;

        [CommandOption("--learning-rate <RATE>")]
        [Description("Adam's learning rate.")]
        [DefaultValue(1e-3)]
        public double LearningRate { get; init; } = 1e-3;

        /// <summary>The old name of --learning-rate (hidden; `sr eval` used --lr for its low-resolution folder).</summary>
        [CommandOption("--lr <RATE>", IsHidden = true)]
        public double? LearningRateOldName { get; init; }

        [CommandOption("--schedule <SCHEDULE>")]
        [Description("Cosine, Constant, Step or MultiStep.")]
        [DefaultValue("Cosine")]
        public string Schedule { get; init; } = "Cosine";

        [CommandOption("--warmup <STEPS>")]
        [Description("Steps of linear learning-rate warm-up.")]
        [DefaultValue(0)]
        public int Warmup { get; init; }

        [CommandOption("--loss <LOSS>")]
        [Description("L1, L2 or Charbonnier.")]
        [DefaultValue("L1")]
        public string Loss { get; init; } = "L1";

        [CommandOption("--clip <NORM>")]
        [Description("Clip the gradients' global norm to this value.")]
        public double? Clip { get; init; }

        [CommandOption("--ema <DECAY>")]
        [Description("Keep an exponential moving average of the weights with this decay (e.g. 0.999) and save it.")]
        public double? Ema { get; init; }

        [CommandOption("--seed <N>")]
        [Description("Random seed (same seed and threads: same weights).")]
        [DefaultValue(1)]
        public int Seed { get; init; } = 1;

        [CommandOption("--threads <N>")]
        [Description("CPU threads (default: libtorch's choice).")]
        public int? Threads { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("cpu or cuda (cuda needs a libtorch-cuda backend package in the tool's folder).")]
        [DefaultValue("cpu")]
        public string Device { get; init; } = "cpu";

        [CommandOption("--checkpoint-dir <DIR>")]
        [Description("Write a resumable checkpoint here every epoch; a run that finds one continues from it.")]
        public string? CheckpointDirectory { get; init; }

        [CommandOption("--validation <HR_IMAGES>")]
        [Description("High-resolution validation images (folder or pattern), evaluated with the SR protocol.")]
        public string? Validation { get; init; }

        [CommandOption("--validate-every <EPOCHS>")]
        [Description("Validate every this many epochs.")]
        [DefaultValue(1)]
        public int ValidateEvery { get; init; } = 1;

        [CommandOption("--keep-best")]
        [Description("Save the weights of the best validation instead of the last ones.")]
        public bool KeepBest { get; init; }

        [CommandOption("--early-stopping <VALIDATIONS>")]
        [Description("Stop after this many validations without improvement.")]
        public int? EarlyStopping { get; init; }

        [CommandOption("--max-minutes <MINUTES>")]
        [Description("Stop training after this many minutes (the model is saved).")]
        public double? MaxMinutes { get; init; }

        [CommandOption("--init <WEIGHTS>")]
        [Description("Start from these PyTorch weights (.pth or .safetensors) instead of random ones: without --arch, a community model's file is fine-tuned as it is (network detected).")]
        public string? Init { get; init; }

        [CommandOption("--init-skip-mismatched")]
        [Description("With --init: copy only tensors whose name and shape match (x3/x4 from x2 weights).")]
        public bool InitSkipMismatched { get; init; }

        [CommandOption("--export-weights <FILE>")]
        [Description("Also write the weights as a PyTorch state_dict (.safetensors or .pth).")]
        public string? ExportWeights { get; init; }

        [CommandOption("--adversarial-weight <W>")]
        [Description("SRGAN training (SrResNet only): weight of the adversarial loss, e.g. 0.001 (the paper's).")]
        public double? AdversarialWeight { get; init; }

        [CommandOption("--discriminator-lr <RATE>")]
        [Description("SRGAN: the discriminator's learning rate (default: --learning-rate).")]
        public double? DiscriminatorLearningRate { get; init; }

        [CommandOption("--discriminator-width <N>")]
        [Description("SRGAN: the discriminator's first-layer features.")]
        [DefaultValue(64)]
        public int DiscriminatorWidth { get; init; } = 64;

        [CommandOption("--pixel-weight <W>")]
        [Description("Weight of the pixel loss (--loss) in the content loss; 0 with --perceptual-weight gives SRGAN's VGG54-only loss.")]
        [DefaultValue(1.0)]
        public double PixelWeight { get; init; } = 1;

        [CommandOption("--perceptual-weight <W>")]
        [Description("SrResNet: weight of the VGG54 perceptual loss; needs --vgg19 (nothing is downloaded).")]
        public double? PerceptualWeight { get; init; }

        [CommandOption("--vgg19 <WEIGHTS>")]
        [Description("torchvision's vgg19 state_dict (.pth or .safetensors) for --perceptual-weight.")]
        public string? Vgg19 { get; init; }

        [CommandOption("--max-pixels <N>")]
        [Description("Largest training image in pixels, checked before decoding.")]
        [DefaultValue(100_000_000L)]
        public long MaxPixels { get; init; } = 100_000_000;

        [CommandOption("--skip-bad-images")]
        [Description("Leave out images that cannot be read (or are over --max-pixels or too small), listed as warnings, instead of stopping.")]
        public bool SkipBadImages { get; init; }

        [CommandOption("--no-progress")]
        [Description("Print a log line every few hundred steps instead of a progress bar (for logs and CI).")]
        public bool NoProgress { get; init; }

        /// <summary>The named architecture, or null when the network comes from a detected --init file.</summary>
        internal SrArchitecture? ParsedArchitecture => Architecture is null ? null : Enum.Parse<SrArchitecture>(Architecture, ignoreCase: true);

        /// <summary>A live progress bar only in a terminal; piped or redirected, or with --no-progress, log lines every 100 steps.</summary>
        internal bool ShowsProgressBar => !NoProgress && AnsiConsole.Profile.Capabilities.Interactive;

        /// <summary>Whether the network is read from the --init file (no --arch).</summary>
        internal bool DetectsNetwork => Architecture is null && Init is not null;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Output))
                return ValidationResult.Error("--output <MODEL_ZIP> is required, e.g. `sr train photos/ --arch Espcn --scale 2 -o espcn-x2.zip`.");
            if (Architecture is not null)
            {
                if (!NetworkWeightsSettings.TryParseOption<SrArchitecture>(Architecture, out var architecture))
                    return ValidationResult.Error(NetworkWeightsSettings.UnknownName<SrArchitecture>("architecture", Architecture)!);
                if (architecture == SrArchitecture.Bicubic)
                    return ValidationResult.Error("Bicubic has nothing to train; pick a network (see `sr models`).");
                var scales = SrModelZoo.Get(architecture).Scales;
                if (!scales.Contains(Scale ?? 2))
                    return ValidationResult.Error($"{architecture} does not support scale {Scale ?? 2}; supported: {string.Join(", ", scales)}.");
            }
            else if (Init is null && Scale is { } scale && !SrModelZoo.Get(SrArchitecture.Espcn).Scales.Contains(scale))
            {
                return ValidationResult.Error($"Espcn (the default --arch) does not support scale {scale}; supported: {string.Join(", ", SrModelZoo.Get(SrArchitecture.Espcn).Scales)}.");
            }

            string? unknown = NetworkWeightsSettings.UnknownName<SrPreset>("preset", Preset)
                ?? (Channels is null ? null : NetworkWeightsSettings.UnknownName<SrChannels>("channels", Channels))
                ?? NetworkWeightsSettings.UnknownName<SrLearningRateSchedule>("schedule", Schedule)
                ?? NetworkWeightsSettings.UnknownName<SrLoss>("loss", Loss);
            if (unknown is not null)
                return ValidationResult.Error(unknown);
            if (Init is not null && !File.Exists(Init))
                return ValidationResult.Error($"--init weights not found: {Init}");
            if (InitSkipMismatched && Init is null)
                return ValidationResult.Error("--init-skip-mismatched needs --init <WEIGHTS>.");
            if (Threads is < 1)
                return ValidationResult.Error("--threads must be at least 1.");
            if (LearningRateOldName is not null && LearningRate != 1e-3)
                return ValidationResult.Error("Give --learning-rate once (--lr is its old name).");
            if (MaxMinutes is { } minutes && !(minutes > 0))
                return ValidationResult.Error("--max-minutes must be positive.");
            if ((KeepBest || EarlyStopping is not null) && Validation is null)
                return ValidationResult.Error("--keep-best and --early-stopping need --validation <HR_IMAGES>.");
            if (MaxPixels < 1)
                return ValidationResult.Error("--max-pixels must be positive.");
            return ValidationResult.Success();
        }

        /// <summary>The library's options for these settings (the library checks the numbers and says what is wrong).</summary>
        internal SuperResolutionOptions ToOptions(IDataView? validation) => new()
        {
            Architecture = DetectsNetwork ? null : ParsedArchitecture ?? SrArchitecture.Espcn,
            Preset = Enum.Parse<SrPreset>(Preset, ignoreCase: true),
            Channels = Channels is not null
                ? Enum.Parse<SrChannels>(Channels, ignoreCase: true)
                : DetectsNetwork ? SrChannels.Rgb : SrModelZoo.Get(ParsedArchitecture ?? SrArchitecture.Espcn).Channels(Enum.Parse<SrPreset>(Preset, ignoreCase: true)),
            Scale = Scale,
            Epochs = Epochs,
            PatchesPerImage = PatchesPerImage,
            BatchSize = Batch,
            PatchSize = Patch,
            LearningRate = LearningRateOldName ?? LearningRate,
            LearningRateSchedule = Enum.Parse<SrLearningRateSchedule>(Schedule, ignoreCase: true),
            WarmupSteps = Warmup,
            Loss = Enum.Parse<SrLoss>(Loss, ignoreCase: true),
            GradientClipNorm = Clip,
            EmaDecay = Ema,
            Device = Device,
            CheckpointDirectory = CheckpointDirectory is null ? null : Path.GetFullPath(CheckpointDirectory),
            ValidationSet = validation,
            ValidationEveryNEpochs = ValidateEvery,
            KeepBestWeights = KeepBest,
            EarlyStoppingPatience = EarlyStopping,
            MaxTrainingTime = MaxMinutes is { } m ? TimeSpan.FromMinutes(m) : null,
            InitialWeightsPath = Init is null ? null : Path.GetFullPath(Init),
            InitialWeightsSkipMismatched = InitSkipMismatched,
            LogEveryNSteps = ShowsProgressBar ? 0 : 100,
            AdversarialLossWeight = AdversarialWeight,
            DiscriminatorLearningRate = DiscriminatorLearningRate,
            DiscriminatorWidth = DiscriminatorWidth,
            PixelLossWeight = PixelWeight,
            PerceptualLossWeight = PerceptualWeight,
            Vgg19WeightsPath = Vgg19 is null ? null : Path.GetFullPath(Vgg19),
            BadRowHandling = SkipBadImages ? SrBadRowHandling.Skip : SrBadRowHandling.Fail,
        };
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Threads is { } threads)
            TorchSharp.torch.set_num_threads(threads);
        var ml = new MLContext(seed: settings.Seed);
        string output = Path.GetFullPath(settings.Output!);
        try
        {
            // The LR images are made at the network's scale: the --init file's when its network is detected.
            var detected = settings.DetectsNetwork ? SrModelFile.Inspect(settings.Init!) : null;
            int scale = settings.Scale ?? detected?.Scale ?? 2;
            var trainFiles = ImageList(settings.Inputs, settings.MaxPixels, "training", settings.SkipBadImages);
            var validationFiles = settings.Validation is null ? null : ImageList([settings.Validation], settings.MaxPixels, "validation", settings.SkipBadImages);
            var degrade = ml.Transforms.LoadImages("HighRes", imageFolder: null, nameof(NetworkWeightsSettings.PathRow.Path))
                .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"));
            IDataView train = Rows(ml, trainFiles);
            IDataView? validation = null;
            if (validationFiles is not null)
            {
                var rows = Rows(ml, validationFiles);
                validation = degrade.Fit(rows).Transform(rows);
            }

            var options = settings.ToOptions(validation);
            options.Scale = scale;
            bool bar = settings.ShowsProgressBar;
            ml.Log += (_, e) =>
            {
                if (!e.Source.StartsWith(nameof(SuperResolutionEstimator), StringComparison.Ordinal))
                    return;
                string? line = e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning ? $"warning: {e.RawMessage}"
                    : e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && (!bar || !e.RawMessage.StartsWith("Epoch", StringComparison.Ordinal)) ? e.RawMessage
                    : null;
                if (line is null)
                    return;
                // Through Spectre's console while the bar is live: the line goes above the bar, which is redrawn below
                // it (a plain Console.WriteLine would write through the bar and leave fragments of it).
                if (bar)
                {
                    // Wrapped here, at word boundaries within the width: a row the terminal wraps by itself would put
                    // the live region's redraw one row off and tear it.
                    foreach (string row in Wrap(line, AnsiConsole.Profile.Width - 1))
                        AnsiConsole.Console.WriteLine(row);
                }
                else
                    Console.WriteLine(line);
            };
            options.CancellationToken = cancellationToken;

            Console.WriteLine(
                $"Training {(detected is null ? $"{options.Architecture} ({options.Preset}, {options.Channels})" : $"{detected.Architecture} ({detected.Variant} of {settings.Init}, its hyper-parameters)")} x{options.Scale} on {trainFiles.Count} image(s){(validationFiles is null ? "" : $", validating on {validationFiles.Count}")}.");
            var clock = Stopwatch.StartNew();
            SuperResolutionTransformer model = !bar
                ? Fit(ml, degrade, options, train)
                : FitWithProgressBar(ml, degrade, options, train);
            using (model)
            {
                AtomicFile.WriteByPath(output, path => NetworkWeightsSettings.SaveWithImageLoading(ml, model, path));
                if (settings.ExportWeights is { } export)
                    model.SaveWeights(Path.GetFullPath(export));
                var summary = model.TrainingSummary!;
                WriteWrapped(
                    $"Trained {summary.Steps:N0} steps in {Durations.Format(summary.Duration)} ({StopReason(summary.StopReason)}{(clock.Elapsed > summary.Duration + TimeSpan.FromSeconds(1) ? $"; {Durations.Format(clock.Elapsed)} with reading the images and saving" : "")}), " +
                    $"final epoch loss {(summary.EpochLosses.Count > 0 ? summary.EpochLosses[^1] : double.NaN):F5}, {model.ParameterCount:N0} parameters.");
                if (summary.SkippedTrainingRows + summary.SkippedValidationRows > 0)
                    Console.WriteLine($"warning: {summary.SkippedTrainingRows} training and {summary.SkippedValidationRows} validation image(s) could not be used and were left out.");
                if (summary.SkippedNonFiniteSteps > 0)
                    Console.WriteLine($"warning: {summary.SkippedNonFiniteSteps} step(s) were skipped: non-finite loss or gradients.");
                if (summary.BestValidation is { } best)
                    Console.WriteLine($"Best validation: {best.Psnr:F3} dB after epoch {best.Epoch}{(settings.KeepBest ? " (these weights were saved)" : "")}.");
                Console.WriteLine($"Saved {output}{(settings.ExportWeights is null ? "" : $" and {settings.ExportWeights}")}.");
            }

            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine(settings.CheckpointDirectory is null
                ? "Cancelled; nothing was saved (use --checkpoint-dir to be able to resume)."
                : $"Cancelled; run the same command again to resume from the last checkpoint in {settings.CheckpointDirectory}.");
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The library's advice names its C# option; here the flag is what to type.
            Console.Error.WriteLine($"error: {System.Text.RegularExpressions.Regex.Replace(Innermost(e).Message, LibrarySkipAdvice, "pass --skip-bad-images to leave such images out")}");
            return ExitCodes.Failed;
        }
    }

    private static SuperResolutionTransformer Fit(MLContext ml, IEstimator<ITransformer> degrade, SuperResolutionOptions options, IDataView train)
    {
        var images = degrade.Fit(train).Transform(train);
        return ml.Transforms.SuperResolution(options).Fit(images);
    }

    private const string LibrarySkipAdvice = @"set SuperResolutionOptions\.BadRowHandling = SrBadRowHandling\.Skip to leave such rows out( \([^)]*\))?";

    /// <summary>A line of the summary: wrapped at spaces to a terminal's width (a pipe gets it whole).</summary>
    private static void WriteWrapped(string line)
    {
        foreach (string row in Console.IsOutputRedirected ? [line] : Wrap(line, AnsiConsole.Profile.Width - 1))
            Console.WriteLine(row);
    }

    /// <summary><paramref name="text"/> as rows of at most <paramref name="width"/> characters, broken at spaces where it can.</summary>
    internal static IEnumerable<string> Wrap(string text, int width)
    {
        width = Math.Max(20, width);
        while (text.Length > width)
        {
            int cut = text.LastIndexOf(' ', width);
            if (cut <= 0)
                cut = width;
            yield return text[..cut].TrimEnd();
            text = text[cut..].TrimStart();
        }

        yield return text;
    }

    private static string StopReason(SrStopReason reason) => reason switch
    {
        SrStopReason.Completed => "all epochs",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private static SuperResolutionTransformer FitWithProgressBar(MLContext ml, IEstimator<ITransformer> degrade, SuperResolutionOptions options, IDataView train)
    {
        SuperResolutionTransformer? model = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth() }, new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(progress =>
            {
                var task = progress.AddTask("starting", maxValue: 1);
                options.ProgressCallback = p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    string psnr = double.IsNaN(p.ValidationPsnr) ? "" : $", val {p.ValidationPsnr.ToString("F2", CultureInfo.InvariantCulture)} dB";
                    task.Description = Markup.Escape(Fit(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}{psnr} {p.PatchesPerSecond:F0} patches/s")));
                };
                model = Fit(ml, degrade, options, train);
                task.Value = task.MaxValue;
                task.StopTask();
            });
        return model!;
    }

    /// <summary>The bar's width: a third of what the terminal leaves beside the fixed columns, 10 to 40 characters.</summary>
    private static int BarWidth() => Math.Clamp((AnsiConsole.Profile.Width - FixedColumns) / 3, 10, 40);

    /// <summary>Percentage, elapsed and remaining time, and the gaps between the columns.</summary>
    private const int FixedColumns = 4 + 8 + 8 + 5;

    /// <summary>
    /// The description cut to the width the terminal leaves it (with an ellipsis): one line that never wraps, so the
    /// live region keeps its height and redraws in place at any width.
    /// </summary>
    private static string Fit(string description)
    {
        int room = Math.Max(12, AnsiConsole.Profile.Width - FixedColumns - BarWidth() - 1);
        return description.Length <= room ? description : description[..(room - 1)] + "…";
    }

    /// <summary>The image files INPUT names, each checked to be a readable image within the pixel limit.</summary>
    private static List<string> ImageList(IReadOnlyList<string> inputs, long maxPixels, string what, bool skipBad)
    {
        var files = InputFiles.Resolve(inputs);
        if (files.Count == 0)
            throw new ArgumentException($"No {what} images in {InputFiles.Describe(inputs)}.");
        var usable = new List<string>();
        foreach (string file in files)
        {
            try
            {
                if (SrImageFiles.Check(file, maxPixels).Warning is { } warning)
                    Console.WriteLine($"warning: {warning}");
                usable.Add(file);
            }
            catch (InvalidDataException e) when (skipBad)
            {
                Console.WriteLine($"warning: skipping {what} image: {e.Message}");
            }
        }

        if (usable.Count == 0)
            throw new InvalidDataException($"None of the {files.Count} {what} image(s) in {InputFiles.Describe(inputs)} can be read.");
        if (usable.Count < files.Count)
            Console.WriteLine($"warning: {files.Count - usable.Count} of {files.Count} {what} image(s) skipped.");
        return usable;
    }

    private static IDataView Rows(MLContext ml, IEnumerable<string> files)
        => ml.Data.LoadFromEnumerable(files.Select(f => new NetworkWeightsSettings.PathRow { Path = Path.GetFullPath(f) }).ToArray());

    private static Exception Innermost(Exception e) => e.InnerException is null || e is InvalidDataException ? e : Innermost(e.InnerException);
}
