using Microsoft.ML;
using MLNet.SuperResolution;

namespace ModelFuzz;

/// <summary>
/// The fuzzer's seeds: the community probes of every detected family in every container (torch zip, legacy pickle,
/// safetensors; tests/.../CommunityProbes, copied beside the program), and files this library writes: the default
/// model's weights as safetensors and as a torch zip, and ML.NET model zips (the default model, and a bicubic pipeline).
/// </summary>
public static class SeedModels
{
    public static List<(string Name, byte[] Bytes)> Create(string probes, string folder)
    {
        var seeds = Directory.EnumerateFiles(probes)
            .Where(f => f.EndsWith(".pth", StringComparison.Ordinal) || f.EndsWith(".safetensors", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)))
            .ToList();
        if (seeds.Count == 0)
            throw new InvalidOperationException($"No seed models in {probes}.");

        Directory.CreateDirectory(folder);
        var ml = new MLContext(seed: 1);
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<SeedRow>());
        var load = ml.Transforms.LoadImages("LowRes", null, "Path");
        var model = load.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2)).Fit(empty);
        foreach (string name in new[] { "default-x2.safetensors", "default-x2.pth" })
        {
            model.LastTransformer.SaveWeights(Path.Combine(folder, name));
            seeds.Add((name, File.ReadAllBytes(Path.Combine(folder, name))));
        }

        ml.Model.Save(model, empty.Schema, Path.Combine(folder, "default-x2.zip"));
        seeds.Add(("default-x2.zip", File.ReadAllBytes(Path.Combine(folder, "default-x2.zip"))));
        var bicubic = load.Append(ml.Transforms.DownscaleImages("Small", 2, "LowRes"))
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "Small", SrArchitecture.Bicubic, 2)).Fit(empty);
        ml.Model.Save(bicubic, empty.Schema, Path.Combine(folder, "bicubic-x2.zip"));
        seeds.Add(("bicubic-x2.zip", File.ReadAllBytes(Path.Combine(folder, "bicubic-x2.zip"))));
        model.Dispose();
        bicubic.Dispose();
        return seeds;
    }

    private sealed class SeedRow
    {
        public string Path { get; set; } = "";
    }
}
