using System.ComponentModel;
using Microsoft.ML;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr import</c>: a PyTorch state_dict (.pth or .safetensors) becomes an ML.NET model zip holding one
/// <see cref="SuperResolutionTransformer"/>, loadable with a plain <c>mlContext.Model.Load</c>.
/// </summary>
internal sealed class ImportCommand : Command<ImportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--arch <ARCHITECTURE>")]
        [Description("The network the weights are for (see `sr models`), e.g. Fsrcnn, Vdsr, EdsrBaseline.")]
        public string? Architecture { get; init; }

        [CommandOption("--scale <SCALE>")]
        [Description("The upscaling factor the weights are for (2, 3, 4; 8 for LapSrn and Drn).")]
        public int? Scale { get; init; }

        [CommandOption("--weights <FILE>")]
        [Description("The state_dict: torch.save(model.state_dict(), path) (.pth) or a safetensors file.")]
        public string? Weights { get; init; }

        [CommandOption("-o|--output <MODEL_ZIP>")]
        [Description("The ML.NET model zip to write (replaced atomically if it exists).")]
        public string? Output { get; init; }

        [CommandOption("--preset <PRESET>")]
        [Description("The configuration the weights are for: Paper (default) or Notes.")]
        [DefaultValue("Paper")]
        public string Preset { get; init; } = "Paper";

        [CommandOption("--channels <CHANNELS>")]
        [Description("Rgb or Y; default: the channels the preset was trained on (Paper: the paper's).")]
        public string? Channels { get; init; }

        [CommandOption("--input-column <NAME>")]
        [Description("The model's low-resolution image column.")]
        [DefaultValue("LowRes")]
        public string InputColumn { get; init; } = "LowRes";

        [CommandOption("--output-column <NAME>")]
        [Description("The model's upscaled image column.")]
        [DefaultValue("SuperRes")]
        public string OutputColumn { get; init; } = "SuperRes";

        internal SrArchitecture ParsedArchitecture => Enum.Parse<SrArchitecture>(Architecture!, ignoreCase: true);

        internal SrPreset ParsedPreset => Enum.Parse<SrPreset>(Preset, ignoreCase: true);

        internal SrChannels ParsedChannels => Channels is null
            ? SrModelZoo.Get(ParsedArchitecture).Channels(ParsedPreset)
            : Enum.Parse<SrChannels>(Channels, ignoreCase: true);

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Architecture) || Scale is null || string.IsNullOrWhiteSpace(Weights) || string.IsNullOrWhiteSpace(Output))
                return ValidationResult.Error("--arch, --scale, --weights and --output are required, e.g. `sr import --arch Fsrcnn --scale 3 --weights fsrcnn_x3.pth -o fsrcnn-x3.zip`.");
            if (!Enum.TryParse<SrArchitecture>(Architecture, ignoreCase: true, out var architecture) || int.TryParse(Architecture, out _))
                return ValidationResult.Error($"Unknown architecture '{Architecture}'; one of: {string.Join(", ", Enum.GetNames<SrArchitecture>())}.");
            if (architecture == SrArchitecture.Bicubic)
                return ValidationResult.Error("Bicubic has no weights to import.");
            var scales = SrModelZoo.Get(architecture).Scales;
            if (!scales.Contains(Scale.Value))
                return ValidationResult.Error($"{architecture} does not support scale {Scale}; supported: {string.Join(", ", scales)}.");
            if (!Enum.TryParse<SrPreset>(Preset, ignoreCase: true, out _) || int.TryParse(Preset, out _))
                return ValidationResult.Error($"Unknown preset '{Preset}'; one of: {string.Join(", ", Enum.GetNames<SrPreset>())}.");
            if (Channels is not null && (!Enum.TryParse<SrChannels>(Channels, ignoreCase: true, out _) || int.TryParse(Channels, out _)))
                return ValidationResult.Error($"Unknown channels '{Channels}'; one of: {string.Join(", ", Enum.GetNames<SrChannels>())}.");
            if (!File.Exists(Weights))
                return ValidationResult.Error($"Weights file not found: {Weights}");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var architecture = settings.ParsedArchitecture;
        int scale = settings.Scale!.Value;
        var channels = settings.ParsedChannels;
        string output = Path.GetFullPath(settings.Output!);
        try
        {
            var ml = new MLContext();
            var (transformer, schema) = WeightsModel.Create(ml, architecture, scale, settings.Weights, channels, settings.ParsedPreset,
                settings.InputColumn, settings.OutputColumn);
            using var model = transformer;
            AtomicFile.Write(output, path => ml.Model.Save(model, schema, path));
            AnsiConsole.MarkupLineInterpolated(
                $"Imported {architecture} x{scale} ({channels}, {settings.ParsedPreset}, {model.ParameterCount:N0} parameters) from {settings.Weights} -> {output}");
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]Load it with mlContext.Model.Load; it maps the image column '{settings.InputColumn}' to '{settings.OutputColumn}'.[/]");
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
