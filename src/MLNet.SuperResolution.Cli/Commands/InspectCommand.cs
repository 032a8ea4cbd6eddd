using System.ComponentModel;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// <c>sr inspect</c>: what a model file is (<see cref="SrModelFile.Inspect"/>): the network detected from a PyTorch
/// state_dict's keys and shapes, or the one an ML.NET model zip holds, with its scale, hyper-parameters, parameter
/// count, channels and stored dtype. Reads the file without running anything from it.
/// </summary>
internal sealed class InspectCommand : Command<InspectCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<MODEL>")]
        [Description("A model file: a PyTorch state_dict (.pth, .pt, .ckpt, .safetensors) or an ML.NET model zip.")]
        public string Model { get; init; } = string.Empty;

        [CommandOption("--json")]
        [Description("Print the result as JSON.")]
        public bool Json { get; init; }

        public override ValidationResult Validate()
            => File.Exists(Model) ? ValidationResult.Success() : ValidationResult.Error($"Model file not found: {Model}");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        SrModelFileInfo info;
        try
        {
            info = SrModelFile.Inspect(settings.Model);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }

        var json = new JsonSerializerOptions { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
        var options = JsonSerializer.SerializeToElement(info.Options, info.Options.GetType(), json);
        var hyperParameters = options.EnumerateObject().Where(p => p.Name != nameof(SrNetworkOptions.Architecture)).ToDictionary(p => p.Name, p => p.Value);
        if (settings.Json)
        {
            var result = new
            {
                path = info.Path,
                container = info.Container,
                architecture = info.Architecture.ToString(),
                variant = info.Variant,
                scale = info.Scale,
                channels = info.Channels.ToString(),
                hyperParameters,
                parameters = info.ParameterCount,
                storedDtype = info.StoredDtype,
                wrapper = info.Wrapper,
                keyPrefix = info.KeyPrefix,
                bfloat16 = info.SupportsBFloat16,
                float16Safe = info.Float16Safe,
                inputSizeMultiple = info.InputSizeMultiple,
            };
            Console.Out.WriteLine(JsonSerializer.Serialize(result, json));
            return 0;
        }

        // Plain lines, never wrapped: they are read by people and by scripts alike.
        var lines = new List<(string What, string Value)>
        {
            ("network", $"{info.Architecture} ({info.Variant})"),
            ("scale", info.Scale == 1 ? "x1 (restoration: the size is kept)" : $"x{info.Scale}"),
            ("channels", info.Channels switch { SrChannels.Y => "1 (the protocol's Y channel)", SrChannels.Gray => "1 (grayscale: full-range luma)", _ => "3 (RGB)" }),
            ("hyper-parameters", string.Join(", ", hyperParameters.Select(p => $"{p.Key} {p.Value}"))),
            ("parameters", info.ParameterCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)),
            ("file", $"{info.Container}, stored {info.StoredDtype}" + (info.Wrapper is null ? "" : $", under '{info.Wrapper}'") +
                     (info.KeyPrefix.Length == 0 ? "" : $", keys prefixed '{info.KeyPrefix}'")),
            ("precision", $"float32{(info.SupportsBFloat16 ? "; bfloat16 with --bf16" : "")}; float16 {(info.Float16Safe ? "safe" : "not safe (overflows)")} in other runtimes"),
            ("input size", info.InputSizeMultiple == 1 ? "any" : $"a multiple of {info.InputSizeMultiple}"),
        };
        Console.Out.WriteLine(info.Path);
        foreach (var (what, value) in lines)
            Console.Out.WriteLine($"  {what,-17}{value}");
        Console.Out.WriteLine($"Run it: sr upscale IMAGE --model {info.Path} -o OUT.png");
        return 0;
    }
}
