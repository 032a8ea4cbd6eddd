using System.Text.Json;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// One probe of Weights/CommunityProbes/manifest.json: a weights file made with a community architecture's official
/// PyTorch code and random weights (build/make_community_probes.py), with an input and the official output.
/// </summary>
public sealed record CommunityProbe(string Name, string File, string Format, string? Wrapper, string Prefix, string Dtype, string Family,
    string Variant, int Scale, int InChannels, int OutChannels, JsonElement Hyper, string Input, string Output, string Source)
{
    /// <summary>The folder of the probes, beside the test binaries.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Weights", "CommunityProbes");

    /// <summary>Every probe of the manifest.</summary>
    public static IReadOnlyList<CommunityProbe> All { get; } = Load();

    public static CommunityProbe Named(string name) => All.Single(p => p.Name == name);

    public string PathOf(string file) => System.IO.Path.Combine(Folder, file);

    public override string ToString() => Name;

    private static List<CommunityProbe> Load()
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(Folder, "manifest.json")));
        return json.RootElement.EnumerateArray().Select(p => new CommunityProbe(
            p.GetProperty("name").GetString()!, p.GetProperty("file").GetString()!, p.GetProperty("format").GetString()!,
            p.GetProperty("wrapper").ValueKind == JsonValueKind.Null ? null : p.GetProperty("wrapper").GetString(),
            p.GetProperty("prefix").GetString()!, p.GetProperty("dtype").GetString()!, p.GetProperty("family").GetString()!,
            p.GetProperty("variant").GetString()!, p.GetProperty("scale").GetInt32(), p.GetProperty("in_channels").GetInt32(),
            p.GetProperty("out_channels").GetInt32(), p.GetProperty("hyper").Clone(), p.GetProperty("input").GetString()!,
            p.GetProperty("output").GetString()!, p.GetProperty("source").GetString()!)).ToList();
    }

    /// <summary>The hostile corpus: file name and why it is hostile.</summary>
    public static IReadOnlyList<(string File, string Why)> Hostile { get; } = LoadHostile();

    private static List<(string, string)> LoadHostile()
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(System.IO.Path.Combine(Folder, "hostile", "manifest.json")));
        return json.RootElement.EnumerateArray().Select(h => (h.GetProperty("file").GetString()!, h.GetProperty("why").GetString()!)).ToList();
    }
}
