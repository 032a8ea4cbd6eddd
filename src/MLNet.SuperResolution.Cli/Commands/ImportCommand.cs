using System.ComponentModel;
using Microsoft.ML;
using MLNet.SuperResolution.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr import</c>: a PyTorch state_dict (.pth or .safetensors) becomes an ML.NET model zip holding one
/// <see cref="SuperResolutionTransformer"/>, loadable with a plain <c>mlContext.Model.Load</c>.
/// </summary>
internal sealed class ImportCommand : Command<ImportCommand.Settings>
{
    public sealed class Settings : NetworkWeightsSettings
    {
        [CommandOption("-o|--output <MODEL_ZIP>")]
        [Description("The ML.NET model zip to write (replaced atomically if it exists).")]
        public string? Output { get; init; }

        [CommandOption("--input-column <NAME>")]
        [Description("The model's low-resolution image column.")]
        [DefaultValue("LowRes")]
        public string InputColumn { get; init; } = "LowRes";

        [CommandOption("--output-column <NAME>")]
        [Description("The model's upscaled image column.")]
        [DefaultValue("SuperRes")]
        public string OutputColumn { get; init; } = "SuperRes";

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Architecture) || Scale is null || string.IsNullOrWhiteSpace(Weights) || string.IsNullOrWhiteSpace(Output))
                return ValidationResult.Error("--arch, --scale, --weights and --output are required, e.g. `sr import --arch Fsrcnn --scale 3 --weights fsrcnn_x3.pth -o fsrcnn-x3.zip`.");
            if (NamesArchitecture(out var architecture) && architecture == SrArchitecture.Bicubic)
                return ValidationResult.Error("Bicubic has no weights to import.");
            return NetworkProblem() is { } problem ? ValidationResult.Error(problem) : ValidationResult.Success();
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
            var (transformer, schema) = settings.CreateTransformer(ml, settings.InputColumn, settings.OutputColumn);
            using var model = transformer;
            AtomicFile.WriteByPath(output, path => ml.Model.Save(model, schema, path));
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
