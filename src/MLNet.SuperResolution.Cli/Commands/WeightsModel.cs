using Microsoft.ML;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>A <see cref="SuperResolutionTransformer"/> from an architecture and PyTorch weights, for the commands that take --arch/--weights.</summary>
internal static class WeightsModel
{
    /// <summary>
    /// Builds the transformer with <c>ApplySuperResolutionModel</c> and returns the input schema to save it with: a path
    /// column and the image column (<paramref name="inputColumn"/>) that <c>LoadImages</c> makes of it.
    /// </summary>
    public static (SuperResolutionTransformer Transformer, DataViewSchema InputSchema) Create(
        MLContext ml, SrArchitecture architecture, int scale, string? weights, SrChannels channels, SrPreset preset,
        string inputColumn = "LowRes", string outputColumn = "SuperRes")
    {
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
        var images = ml.Transforms.LoadImages(inputColumn, imageFolder: null, nameof(PathRow.Path)).Fit(empty).Transform(empty);
        var transformer = ml.Transforms.ApplySuperResolutionModel(outputColumn, inputColumn, architecture, scale, weights, channels, preset: preset)
            .Fit(images);
        return (transformer, images.Schema);
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
