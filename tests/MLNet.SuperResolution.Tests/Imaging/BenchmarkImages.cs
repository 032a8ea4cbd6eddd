using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>Loads the benchmark PNGs of ../shared (skipping the test when they are absent).</summary>
internal static class BenchmarkImages
{
    /// <summary>Reads one PNG into an <see cref="RgbImage"/>.</summary>
    public static RgbImage Load(string path)
    {
        using var image = MLImage.CreateFromFile(path);
        return RgbImage.FromMLImage(image);
    }

    /// <summary>The HR and LR images of a set and scale, paired by file name, in file-name order.</summary>
    public static IReadOnlyList<(string Name, RgbImage Hr, RgbImage Lr)> Pairs(string set, int scale)
    {
        string hrFolder = SharedData.Require("data", "benchmark", set, $"x{scale}", "HR");
        string lrFolder = SharedData.Require("data", "benchmark", set, $"x{scale}", "LR");
        var pairs = new List<(string, RgbImage, RgbImage)>();
        foreach (string hrPath in Directory.GetFiles(hrFolder, "*.png").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(hrPath);
            pairs.Add((name, Load(hrPath), Load(Path.Combine(lrFolder, name))));
        }

        Skip.If(pairs.Count == 0, $"No PNG files in {hrFolder}.");
        return pairs;
    }
}
