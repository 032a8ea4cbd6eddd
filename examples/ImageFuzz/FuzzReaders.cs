using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution;

namespace ImageFuzz;

/// <summary>
/// The two ways a file reaches the library, as fuzzing targets (MATLAB bicubic x2: the work is the decoding):
/// <see cref="ImageSharp"/>, the upscaler's reader (metadata scan, pixel limit, ImageSharp); <see cref="LoadImages"/>,
/// ML.NET's LoadImages (SkiaSharp) in a pipeline with this library's transform reading the column, optionally after
/// <see cref="SrImageFiles.Check"/> as sr train and sr eval do (LoadImages itself checks no pixel count).
/// </summary>
public sealed class FuzzReaders : IDisposable
{
    private readonly MLContext _ml;
    private readonly ITransformer _loadImages;
    private readonly SuperResolutionTransformer _bicubic;
    private readonly SuperResolutionUpscaler _upscaler;
    private readonly string _folder = Directory.CreateTempSubdirectory("imagefuzz-").FullName;
    private int _file;

    public FuzzReaders(int seed, long maxPixels = 4_000_000)
    {
        _ml = new MLContext(seed: seed);
        var empty = _ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
        _loadImages = _ml.Transforms.LoadImages("LowRes", null, "Path").Fit(empty);
        _bicubic = _ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2).Fit(_loadImages.Transform(empty));
        _upscaler = SuperResolutionUpscaler.FromTransformer(_bicubic);
        _upscaler.MaxInputPixels = maxPixels;
        MaxPixels = maxPixels;
    }

    /// <summary>The pixel limit of both readers.</summary>
    public long MaxPixels { get; }

    /// <summary>The upscaler's reader: a stream in, PNG out.</summary>
    public void ImageSharp(byte[] bytes)
    {
        using var input = new MemoryStream(bytes);
        using var output = new MemoryStream();
        _upscaler.Upscale(input, output, SrImageFormat.Png);
    }

    /// <summary>LoadImages and the transform over a file of <paramref name="bytes"/>; <paramref name="check"/> first runs SrImageFiles.Check.</summary>
    public void LoadImages(byte[] bytes, bool check)
    {
        string path = Path.Combine(_folder, $"mutant{Interlocked.Increment(ref _file)}");
        File.WriteAllBytes(path, bytes);
        try
        {
            if (check)
                SrImageFiles.Check(path, MaxPixels);
            var data = _bicubic.Transform(_loadImages.Transform(_ml.Data.LoadFromEnumerable([new PathRow { Path = path }])));
            using var cursor = data.GetRowCursor(data.Schema);
            var getter = cursor.GetGetter<MLImage>(data.Schema["SuperRes"]);
            MLImage image = null!;
            while (cursor.MoveNext())
                getter(ref image);
            image?.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose()
    {
        _upscaler.Dispose();
        _bicubic.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
