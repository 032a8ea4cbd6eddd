using System.ComponentModel;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// The options that name a network and its PyTorch weights (--arch, --scale, --preset, --channels, --weights), shared by
/// <c>sr import</c> and <c>sr upscale</c>: their parsing, their checks, and the transformer they build.
/// </summary>
internal abstract class NetworkWeightsSettings : CommandSettings
{
    [CommandOption("--arch <ARCHITECTURE>")]
    [Description("The network the weights are for (see `sr models`), e.g. Fsrcnn, Vdsr, EdsrBaseline. Bicubic needs no weights.")]
    public string? Architecture { get; init; }

    [CommandOption("-s|--scale <SCALE>")]
    [Description("The upscaling factor the network is built for (2, 3, 4; 8 for LapSrn and Drn; see `sr models`); a detected file's own scale when given with one (checked).")]
    public int? Scale { get; init; }

    [CommandOption("--weights <FILE>")]
    [Description("The state_dict: torch.save(model.state_dict(), path) (.pth) or a safetensors file.")]
    public string? Weights { get; init; }

    [CommandOption("--preset <PRESET>")]
    [Description("The configuration the weights are for: Paper (default) or Notes.")]
    public string? Preset { get; init; }

    [CommandOption("--channels <CHANNELS>")]
    [Description("Rgb, Y (the protocol's studio-swing luma) or Gray (full-range luma); default: the channels the preset was trained on (Paper: the paper's).")]
    public string? Channels { get; init; }

    internal SrArchitecture ParsedArchitecture => Enum.Parse<SrArchitecture>(Architecture!, ignoreCase: true);

    internal SrPreset ParsedPreset => Preset is null ? SrPreset.Paper : Enum.Parse<SrPreset>(Preset, ignoreCase: true);

    internal SrChannels ParsedChannels => Channels is null
        ? SrModelZoo.Get(ParsedArchitecture).Channels(ParsedPreset)
        : Enum.Parse<SrChannels>(Channels, ignoreCase: true);

    /// <summary>Whether --arch names an architecture, by name (numbers are not names).</summary>
    internal bool NamesArchitecture(out SrArchitecture architecture) => TryParseName(Architecture, out architecture);

    /// <summary>The first problem with the network options (--arch given), or null when they are usable.</summary>
    protected string? NetworkProblem()
    {
        if (!NamesArchitecture(out var architecture))
            return UnknownName<SrArchitecture>("architecture", Architecture);
        if (Scale is null)
            return "--arch needs --scale.";
        var scales = SrModelZoo.Get(architecture).Scales;
        if (!scales.Contains(Scale.Value))
            return $"{architecture} does not support scale {Scale}; supported: {string.Join(", ", scales)}.";
        if (architecture != SrArchitecture.Bicubic && Weights is null)
            return $"{architecture} needs --weights (a PyTorch state_dict).";
        if (Weights is not null && !File.Exists(Weights))
            return $"Weights file not found: {Weights}";
        return (Preset is null ? null : UnknownName<SrPreset>("preset", Preset)) ?? (Channels is null ? null : UnknownName<SrChannels>("channels", Channels));
    }

    /// <summary>
    /// The options that only describe a network named by --arch (--weights, --preset, --channels), given without it:
    /// they would be ignored, so they are refused. Null when there are none.
    /// </summary>
    protected string? OptionsNeedingArchitecture(string instead, bool weights = true)
    {
        var given = new[] { ("--weights", weights ? Weights : null), ("--preset", Preset), ("--channels", Channels) }.Where(o => o.Item2 is not null).Select(o => o.Item1).ToList();
        return given.Count == 0 ? null
            : $"{string.Join(", ", given)} describe{(given.Count == 1 ? "s" : "")} a network named by --arch; {instead}";
    }

    /// <summary>
    /// Builds the transformer with <c>ApplySuperResolutionModel</c> and returns the input schema to save it with: a path
    /// column and the image column (<paramref name="inputColumn"/>) that <c>LoadImages</c> makes of it.
    /// </summary>
    internal (SuperResolutionTransformer Transformer, DataViewSchema InputSchema) CreateTransformer(
        MLContext ml, string inputColumn = "LowRes", string outputColumn = "SuperRes", string device = "cpu")
    {
        var images = ImageInput(ml, inputColumn);
        var transformer = ml.Transforms.ApplySuperResolutionModel(outputColumn, inputColumn, ParsedArchitecture, Scale!.Value, Weights,
            ParsedChannels, device, ParsedPreset).Fit(images);
        return (transformer, images.Schema);
    }

    /// <summary>
    /// An empty data view with the schema a saved model is applied to: a path column and the image column
    /// (<paramref name="imageColumn"/>) that <c>LoadImages</c> makes of it.
    /// </summary>
    internal static IDataView ImageInput(MLContext ml, string imageColumn)
    {
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
        return ml.Transforms.LoadImages(imageColumn, imageFolder: null, nameof(PathRow.Path)).Fit(empty).Transform(empty);
    }

    /// <summary>
    /// Null when <paramref name="text"/> names a <typeparamref name="T"/> (see <see cref="TryParseOption{T}"/>); otherwise
    /// the error to show, e.g. "Unknown loss 'L3'; one of: L1, L2, Charbonnier.".
    /// </summary>
    internal static string? UnknownName<T>(string what, string? text) where T : struct, Enum
        => TryParseName<T>(text, out _) ? null : $"Unknown {what} '{text}'; one of: {string.Join(", ", Enum.GetNames<T>())}.";

    /// <summary>Parses an enum option by name (case-insensitive; numbers are not names).</summary>
    internal static bool TryParseOption<T>(string? text, out T value) where T : struct, Enum => TryParseName(text, out value);

    private static bool TryParseName<T>(string? text, out T value) where T : struct, Enum
        => Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _);

    /// <summary>
    /// Saves <paramref name="model"/> as the zip `sr import` and `sr train` write: LoadImages (the file named in the
    /// "Path" column into the model's input image column), then the model. The zip's input schema is then what it reads,
    /// a Path text column (ML.NET cannot store an image column in a saved schema, so a zip of the model alone reported
    /// "Path" while it read images); the chain's LastTransformer is the model alone, for images already in a data view.
    /// </summary>
    internal static void SaveWithImageLoading(MLContext ml, SuperResolutionTransformer model, string path)
    {
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
        var loader = ml.Transforms.LoadImages(model.InputColumnName, imageFolder: null, nameof(PathRow.Path)).Fit(empty);
        var chain = new TransformerChain<SuperResolutionTransformer>(loader, model);
        ml.Model.Save(chain, empty.Schema, path);
    }

    /// <summary>A row naming an image file.</summary>
    internal sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
