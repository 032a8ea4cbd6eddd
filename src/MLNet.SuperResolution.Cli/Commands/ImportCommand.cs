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

        [CommandOption("--no-check")]
        [Description("Write the model even when it scores far below bicubic on the built-in check patches (by default such a model is refused, with the likely cause).")]
        public bool NoCheck { get; init; }

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
                if (OptionsNeedingArchitecture("FILE's network is detected from the file.") is { } ignored)
                    return ValidationResult.Error(ignored);
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
    {
        string output = Path.GetFullPath(settings.Output!);
        try
        {
            var ml = new MLContext();
            var (transformer, description) = settings.File is null ? ImportNamed(ml, settings) : ImportDetected(ml, settings);
            using var model = transformer;
            SrBicubicComparison? comparison = null;
            if (!settings.NoCheck)
            {
                comparison = model.CompareWithBicubic();
                if (comparison.IsFarBelowBicubic)
                {
                    Console.Error.WriteLine($"error: {description}: {comparison.Warning}");
                    if (settings.File is null)
                        foreach (string hint in LikelyFixes(ml, settings, comparison))
                            Console.Error.WriteLine(hint);
                    Console.Error.WriteLine($"Nothing was written. If these weights are meant to be so (e.g. not trained for this degradation), --no-check writes them anyway.");
                    return ExitCodes.Failed;
                }

                if (comparison.Warning is { } warning)
                    Console.Error.WriteLine($"warning: {warning}");
            }

            AtomicFile.WriteByPath(output, path => NetworkWeightsSettings.SaveWithImageLoading(ml, model, path));
            AnsiConsole.MarkupLineInterpolated($"Imported {description} -> {output}");
            if (comparison is not null)
                AnsiConsole.MarkupLineInterpolated($"Check patches: {comparison}.");
            AnsiConsole.MarkupLineInterpolated(
                $"[grey]Load it with mlContext.Model.Load: it reads the image files named in a 'Path' column into '{settings.InputColumn}' and writes '{settings.OutputColumn}'; its LastTransformer alone maps an image column '{settings.InputColumn}'.[/]");
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// For a named network that scores far below bicubic: the other scales and channel modes under which the same
    /// weights beat bicubic ("they look like x3 weights: --scale 3"), or what else to check when none does.
    /// </summary>
    private static IEnumerable<string> LikelyFixes(MLContext ml, Settings settings, SrBicubicComparison given)
    {
        var architecture = settings.ParsedArchitecture;
        var images = NetworkWeightsSettings.ImageInput(ml, settings.InputColumn);
        var found = new List<string>();
        foreach (int scale in SrModelZoo.Get(architecture).Scales.Where(s => s > 1))
        {
            foreach (var channels in new[] { SrChannels.Rgb, SrChannels.Y })
            {
                if (scale == settings.Scale && channels == settings.ParsedChannels)
                    continue;
                try
                {
                    using var candidate = ml.Transforms.ApplySuperResolutionModel(settings.OutputColumn, settings.InputColumn, architecture, scale,
                        settings.Weights, channels, "cpu", settings.ParsedPreset).Fit(images);
                    var comparison = candidate.CompareWithBicubic();
                    if (comparison.Margin > 0)
                        found.Add($"  --scale {scale} --channels {channels}: {comparison}");
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException)
                {
                    // These weights do not fit that configuration (other shapes): not the cause.
                }
            }
        }

        if (found.Count > 0)
            return [$"The same weights beat bicubic as:", .. found, $"so they are most likely weights for that configuration, not for x{given.Scale} {settings.ParsedChannels}."];
        return [$"No other scale or channel mode of {architecture} makes them beat bicubic: check that they are {architecture}'s weights for --preset {settings.ParsedPreset} (see `sr models`), and that they were trained."];
    }

    /// <summary>The file's detected network; --scale, when given, must be the file's.</summary>
    private static (SuperResolutionTransformer Model, string Description) ImportDetected(MLContext ml, Settings settings)
    {
        var images = NetworkWeightsSettings.ImageInput(ml, settings.InputColumn);
        var model = ml.Transforms.ApplySuperResolutionModel(settings.OutputColumn, settings.InputColumn, settings.File!).Fit(images);
        if (settings.Scale is { } scale && scale != model.Scale)
        {
            model.Dispose();
            throw new ArgumentException($"--scale {scale} does not match the file, whose network upscales x{model.Scale}.");
        }

        return (model,
            $"{model.Architecture} x{model.Scale} ({model.Channels}, {model.ParameterCount:N0} parameters, detected) from {settings.File}");
    }

    /// <summary>The zoo network named by --arch, --scale, --preset and --channels, with --weights.</summary>
    private static (SuperResolutionTransformer Model, string Description) ImportNamed(MLContext ml, Settings settings)
    {
        var (model, _) = settings.CreateTransformer(ml, settings.InputColumn, settings.OutputColumn);
        return (model,
            $"{settings.ParsedArchitecture} x{settings.Scale!.Value} ({settings.ParsedChannels}, {settings.ParsedPreset}, {model.ParameterCount:N0} parameters) from {settings.Weights}");
    }
}
