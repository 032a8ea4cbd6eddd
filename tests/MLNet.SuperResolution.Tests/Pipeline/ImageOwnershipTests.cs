using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// Input images belong to whoever made them: the transforms and <c>Evaluate</c> read them and never dispose them, so a
/// data view of the caller's own <see cref="MLImage"/> values can be transformed again (images from LoadImages are
/// disposed by LoadImages itself, ML.NET's convention).
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class ImageOwnershipTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private sealed class ImageRow
    {
        [ImageType(16, 20)]
        public MLImage? LowRes { get; set; }
    }

    [Fact]
    public void CallersImages_SurviveTwoTransformsAndAnEvaluation()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { "coffee.png", "astronaut.png" }.Select(s => new ImageRow { LowRes = MLImage.CreateFromFile(_images.Crop(s, 20, 16)) }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = TestModels.Random(ml, SrArchitecture.Espcn, 2, SrChannels.Rgb, seed: 3);
        var first = TestImages.ReadImages(model.Transform(data), "SuperRes");
        var second = TestImages.ReadImages(model.Transform(data), "SuperRes");
        Assert.Equal(2, second.Count);
        for (int i = 0; i < first.Count; i++)
            Assert.Equal(first[i].Planes, second[i].Planes);
        Assert.All(rows, r => Assert.Equal(20, r.LowRes!.Width)); // still alive: Width throws on a disposed MLImage

        // Downscale then upscale, and Evaluate reading the caller's images as the label.
        var chain = ml.Transforms.DownscaleImages("Small", 2, "LowRes").Fit(data).Transform(data);
        var metrics = ml.SuperResolution().Evaluate(ml.Transforms.ApplySuperResolutionModel("Up", "Small", SrArchitecture.Bicubic, 2)
            .Fit(chain).Transform(chain), 2, "LowRes", "Up");
        Assert.Equal(2, metrics.Count);
        Assert.All(rows, r => Assert.Equal(16, r.LowRes!.Height));

        foreach (var row in rows)
            row.LowRes!.Dispose();
    }

    /// <summary>
    /// The assumption that keeps memory flat without disposing inputs: LoadImages disposes the image it made for the
    /// previous row when its getter is handed the same variable for the next row (which our readers do).
    /// </summary>
    [Fact]
    public void LoadImages_DisposesItsPreviousImage_WhenGivenTheSameVariable()
    {
        var ml = new MLContext(seed: 1);
        var paths = TestImages.Paths(ml, [_images.Crop("coffee.png", 20, 16), _images.Crop("astronaut.png", 20, 16)]);
        var loaded = ml.Transforms.LoadImages("Image", null, "Path").Fit(paths).Transform(paths);
        using var cursor = loaded.GetRowCursor(new[] { loaded.Schema["Image"] });
        var getter = cursor.GetGetter<MLImage>(loaded.Schema["Image"]);
        MLImage image = null!;
        Assert.True(cursor.MoveNext());
        getter(ref image);
        var first = image;
        Assert.True(cursor.MoveNext());
        getter(ref image);
        Assert.NotSame(first, image);
        Assert.Throws<InvalidOperationException>(() => first.Width);
        Assert.Equal(20, image.Width);
        image.Dispose();
    }
}
