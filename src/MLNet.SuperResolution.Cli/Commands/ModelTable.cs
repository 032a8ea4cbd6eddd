using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>One row of <c>sr models</c>: an architecture at a preset and scale.</summary>
internal sealed record ModelRow(
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("preset")] string Preset,
    [property: JsonPropertyName("scale")] int Scale,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("channelSpace")] string ChannelSpace,
    [property: JsonPropertyName("paper")] string Paper,
    [property: JsonPropertyName("reference")] string Reference);

/// <summary>The model table behind <c>sr models</c> and the generated part of docs/models.md.</summary>
internal static class ModelTable
{
    /// <summary>Every architecture x preset x scale, counted on the preset's channels (builds each network once).</summary>
    public static IReadOnlyList<ModelRow> Rows(IEnumerable<SrModelInfo>? models = null)
    {
        var rows = new List<ModelRow>();
        foreach (var model in models ?? SrModelZoo.Models)
            foreach (var preset in Enum.GetValues<SrPreset>())
                foreach (int scale in model.Scales)
                {
                    var space = model.Channels(preset);
                    rows.Add(new ModelRow(model.Architecture.ToString(), preset.ToString(), scale, model.ParameterCount(scale, preset),
                        space.NetworkChannels(), space == SrChannels.Rgb ? "RGB" : space.ToString(), model.Paper, model.Reference));
                }

        return rows;
    }

    public static string Json(IReadOnlyList<ModelRow> rows)
        => JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The scales that occur in the rows, ascending (the columns of the grid).</summary>
    public static int[] Scales(IReadOnlyList<ModelRow> rows) => rows.Select(r => r.Scale).Distinct().Order().ToArray();

    /// <summary>One line per architecture and preset: name, preset, channels, then the count per scale ("—" where unsupported).</summary>
    public static IEnumerable<string[]> Grid(IReadOnlyList<ModelRow> rows)
    {
        int[] scales = Scales(rows);
        foreach (var group in rows.GroupBy(r => (r.Architecture, r.Preset)))
        {
            var byScale = group.ToDictionary(r => r.Scale, r => r.Parameters);
            var cells = scales.Select(s => byScale.TryGetValue(s, out long p) ? p.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "—");
            yield return new[] { group.Key.Architecture, group.Key.Preset, group.First().ChannelSpace }.Concat(cells).ToArray();
        }
    }

    /// <summary>The grid as a markdown table (the generated part of docs/models.md).</summary>
    public static string Markdown(IReadOnlyList<ModelRow> rows)
    {
        int[] scales = Scales(rows);
        var text = new StringBuilder();
        text.AppendLine($"| network | preset | channels | {string.Join(" | ", scales.Select(s => $"x{s}"))} |");
        text.AppendLine($"|---|---|---|{string.Concat(scales.Select(_ => "---:|"))}");
        foreach (var line in Grid(rows))
            text.AppendLine($"| {string.Join(" | ", line)} |");
        return text.ToString();
    }
}
