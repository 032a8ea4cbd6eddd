using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests;

/// <summary>Tiny test images cut from the bundled CC0 samples (data/samples, copied next to the test binaries).</summary>
internal sealed class TestImages : IDisposable
{
    public TestImages()
    {
        Directory = Path.Combine(Path.GetTempPath(), "mlnet-sr-tests-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    /// <summary>Writes the top-left <paramref name="width"/> x <paramref name="height"/> crop of a sample as PNG; returns its path.</summary>
    public string Crop(string sample, int width, int height, int left = 0, int top = 0)
    {
        using var source = MLImage.CreateFromFile(Sample(sample));
        var image = RgbImage.FromMLImage(source);
        var planes = new byte[3 * width * height];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < height; y++)
                Array.Copy(image.Planes, c * image.PlaneSize + (top + y) * image.Width + left, planes, c * width * height + y * width, width);
        string path = Path.Combine(Directory, $"{Path.GetFileNameWithoutExtension(sample)}-{left}-{top}-{width}x{height}.png");
        using var crop = new RgbImage(width, height, planes).ToMLImage();
        crop.Save(path);
        return path;
    }

    /// <summary>Three small training crops of different photos.</summary>
    public string[] TrainingSet(int size = 40) => new[]
    {
        Crop("astronaut.png", size, size, 180, 100),
        Crop("coffee.png", size, size, 200, 150),
        Crop("chelsea.png", size + 8, size, 150, 80),
    };

    public string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static IDataView Paths(MLContext ml, IEnumerable<string> paths)
        => ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { Path = p }));

    /// <summary>Reads an image column of every row, copied out of the cursor.</summary>
    public static List<RgbImage> ReadImages(IDataView data, string column)
    {
        var result = new List<RgbImage>();
        using var cursor = data.GetRowCursor(new[] { data.Schema[column] });
        var getter = cursor.GetGetter<MLImage>(data.Schema[column]);
        while (cursor.MoveNext())
        {
            MLImage image = null!;
            getter(ref image);
            result.Add(RgbImage.FromMLImage(image));
            image.Dispose();
        }

        return result;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    public sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
