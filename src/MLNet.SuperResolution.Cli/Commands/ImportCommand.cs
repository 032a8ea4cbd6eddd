using System.ComponentModel;
using Microsoft.ML;
using MLNet.SuperResolution.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr import</c>: a PyTorch state_dict (.pth or .safetensors) becomes an ML.NET model zip holding one
/// <see cref="SuperResolutionTransformer"/>, loadable with a plain <c>mlContext.Model.Load</c>: a community model's
/// file with its network detected (<c>sr import FILE -o model.zip</c>), or weights of a named zoo network
/// (<c>--arch --scale --weights</c>).
/// </summary>
internal sealed class ImportCommand : Command<ImportCommand.Settings>
{
    public sealed class Settings : NetworkWeightsSettings
    {
        [CommandArgument(0, "[FILE]")]
        [Description("A weights file whose network is detected from its keys (a community model: ESRGAN, Real-ESRGAN, Compact, ...); or use --arch, --scale and --weights.")]
        public string? File { get; init; }

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
            if (File is not null)
            {
                if (Architecture is not null || Weights is not null)
                    return ValidationResult.Error("Give either FILE (its network is detected) or --arch/--scale/--weights, not both.");
                if (string.IsNullOrWhiteSpace(Output))
                    return ValidationResult.Error("--output is required, e.g. `sr import 4x-model.pth -o model.zip`.");
                return System.IO.File.Exists(File) ? ValidationResult.Success() : ValidationResult.Error($"Weights file not found: {File}");
            }

            if (string.IsNullOrWhiteSpace(Architecture) || Scale is null || string.IsNullOrWhiteSpace(Weights) || string.IsNullOrWhiteSpace(Output))
                return ValidationResult.Error("--arch, --scale, --weights and --output are required, e.g. `sr import --arch Fsrcnn --scale 3 --weights fsrcnn_x3.pth -o fsrcnn-x3.zip`.");
            if (NamesArchitecture(out var architecture) && architecture == SrArchitecture.Bicubic)
                return ValidationResult.Error("Bicubic has no weights to import.");
            return NetworkProblem() is { } problem ? ValidationResult.Error(problem) : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => settings.File is null ? ImportNamed(settings) : ImportDetected(settings);

    private static int ImportDetected(Settings settings)
    {
        string output = Path.GetFullPath(settings.Output!);
        try
        {
            var ml = new MLContext();
            var images = NetworkWeightsSettings.ImageInput(ml, settings.InputColumn);
            using var model = ml.Transforms.ApplySuperResolutionModel(settings.OutputColumn, settings.InputColumn, settings.File!).Fit(images);
            if (settings.Scale is { } scale && scale != model.Scale)
            {
                Console.Error.WriteLine($"error: --scale {scale} does not match the file, whose network upscales x{model.Scale}.");
                return 1;
            }

            AtomicFile.WriteByPath(output, path => ml.Model.Save(model, images.Schema, path));
            AnsiConsole.MarkupLineInterpolated(
                $"Imported {model.Architecture} x{model.Scale} ({model.Channels}, {model.ParameterCount:N0} parameters, detected) from {settings.File} -> {output}");
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

    private static int ImportNamed(Settings settings)
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
