using Microsoft.ML;

namespace MLNet.SuperResolution.Tests;

/// <summary>The benchmark sets of ../shared (Set5, Set14) with their MATLAB-made LR files, as image columns.</summary>
internal static class BenchmarkSets
{
    /// <summary>
    /// <paramref name="set"/> at x<paramref name="scale"/>: the "HighRes" images and the MATLAB-made "LowRes" files, loaded
    /// (skips the test when ../shared is absent).
    /// </summary>
    public static IDataView Load(MLContext ml, string set, int scale)
    {
        string folder = SharedData.Require("data", "benchmark", set, $"x{scale}");
        var rows = Directory.GetFiles(Path.Combine(folder, "HR"), "*.png").Order()
            .Select(hr => new Pair { HighResPath = hr, LowResPath = Path.Combine(folder, "LR", Path.GetFileName(hr)) });
        var data = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.LoadImages("HighRes", null, nameof(Pair.HighResPath))
            .Append(ml.Transforms.LoadImages("LowRes", null, nameof(Pair.LowResPath))).Fit(data).Transform(data);
    }

    private sealed class Pair
    {
        public string HighResPath { get; set; } = string.Empty;

        public string LowResPath { get; set; } = string.Empty;
    }
}
