using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// One image in, the upscaled image out, through ML.NET's <c>PredictionEngine</c>: a file path or an
/// <see cref="MLImage"/> in, the upscaled file's bytes out (ML.NET cannot bind an <see cref="MLImage"/> output member,
/// so the pipeline ends with <c>EncodeImages</c>), the same pixels as the upscaler's, also after save and load.
/// </summary>
public sealed class PredictionEngineTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    /// <summary>The input: an image file.</summary>
    public sealed class ImageFile
    {
        public string Path { get; set; } = "";
    }

    /// <summary>The input: an image in memory (LowRes's size does not matter: the upscaler takes any).</summary>
    public sealed class ImageInMemory
    {
        [ImageType(1, 1)]
        public MLImage? LowRes { get; set; }
    }

    /// <summary>The output: the upscaled image as a PNG file's bytes.</summary>
    public sealed class Upscaled
    {
        public byte[] Png { get; set; } = [];
    }

    [Fact]
    public void APathIn_APngOut_WithTheUpscalersPixels_AlsoAfterSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        string photo = _images.Crop("chelsea.png", 30, 22, 100, 60);
        var pipeline = ml.Transforms.LoadImages("LowRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2))
            .Append(ml.Transforms.EncodeImages("Png", "SuperRes"));
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<ImageFile>());
        var model = pipeline.Fit(empty);

        byte[] png;
        // An engine disposes the model it was made from, unless told otherwise: the model is saved below.
        using (var engine = ml.Model.CreatePredictionEngine<ImageFile, Upscaled>(model, new PredictionEngineOptions { OwnsTransformer = false }))
            png = engine.Predict(new ImageFile { Path = photo }).Png;
        using var expected = Expected(photo);
        AssertSamePixels(expected, png);

        string zip = Path.Combine(_images.Directory, "model.zip");
        ml.Model.Save(model, empty.Schema, zip);
        var loaded = new MLContext(seed: 2).Model.Load(zip, out _);
        using var again = ml.Model.CreatePredictionEngine<ImageFile, Upscaled>(loaded);
        AssertSamePixels(expected, again.Predict(new ImageFile { Path = photo }).Png);
        string other = _images.Crop("coffee.png", 17, 13, 200, 100); // a second image of another size, same engine
        using var expectedOther = Expected(other);
        AssertSamePixels(expectedOther, again.Predict(new ImageFile { Path = other }).Png);
    }

    [Fact]
    public void AModelDisposedByItsEngine_SaysSo_InsteadOfSavingNoWeights()
    {
        var ml = new MLContext(seed: 1);
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<ImageFile>());
        var model = ml.Transforms.LoadImages("LowRes", null, "Path").Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2))
            .Append(ml.Transforms.EncodeImages("Png", "SuperRes")).Fit(empty);
        using (var engine = ml.Model.CreatePredictionEngine<ImageFile, Upscaled>(model))
            Assert.NotEmpty(engine.Predict(new ImageFile { Path = _images.Crop("chelsea.png", 12, 12) }).Png);

        using var stream = new MemoryStream();
        var error = Assert.Throws<ObjectDisposedException>(() => ml.Model.Save(model, empty.Schema, stream));
        Assert.Contains("OwnsTransformer = false", error.Message);
        using var again = ml.Model.CreatePredictionEngine<ImageFile, Upscaled>(model);
        Assert.Throws<ObjectDisposedException>(() => again.Predict(new ImageFile { Path = _images.Crop("chelsea.png", 12, 12) }));
    }

    [Fact]
    public void AnImageIn_APngOut()
    {
        var ml = new MLContext(seed: 1);
        string photo = _images.Crop("astronaut.png", 21, 18, 200, 100);
        var pipeline = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2)
            .Append(ml.Transforms.EncodeImages("Png", "SuperRes"));
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(Array.Empty<ImageInMemory>()));
        using var engine = ml.Model.CreatePredictionEngine<ImageInMemory, Upscaled>(model);
        using var input = MLImage.CreateFromFile(photo);
        byte[] png = engine.Predict(new ImageInMemory { LowRes = input }).Png;
        using var expected = Expected(photo);
        AssertSamePixels(expected, png);
        Assert.Equal(21, input.Width); // the caller's image is left as it was
    }

    [Theory]
    [InlineData(SrImageFormat.Png, new byte[] { 0x89, 0x50, 0x4E, 0x47 })]
    [InlineData(SrImageFormat.Jpeg, new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData(SrImageFormat.Webp, new byte[] { 0x52, 0x49, 0x46, 0x46 })]
    [InlineData(SrImageFormat.Bmp, new byte[] { 0x42, 0x4D })]
    public void EveryFormat_WritesItsFile(SrImageFormat format, byte[] magic)
    {
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, [_images.Crop("coffee.png", 12, 10, 100, 100)]);
        var encoded = ml.Transforms.LoadImages("Image", null, "Path").Append(ml.Transforms.EncodeImages("File", "Image", format)).Fit(data).Transform(data);
        var bytes = encoded.GetColumn<byte[]>("File").Single();
        Assert.Equal(magic, bytes.Take(magic.Length));
        using var decoded = Image.Load<Rgba32>(bytes);
        Assert.Equal((12, 10), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void ANonImageColumn_IsRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, [_images.Crop("coffee.png", 12, 10)]);
        var error = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.EncodeImages("File", "Path").Fit(data));
        Assert.Contains("Path", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.EncodeImages("File", "Image", SrImageFormat.Jpeg, jpegQuality: 0));
    }

    private static Image<Rgba32> Expected(string path)
    {
        using var upscaler = SuperResolutionUpscaler.FromDefaultModel(scale: 2);
        using var input = Image.Load<Rgba32>(path);
        return upscaler.Upscale(input);
    }

    private static void AssertSamePixels(Image<Rgba32> expected, byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png.Take(4));
        using var actual = Image.Load<Rgba32>(png);
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        for (int y = 0; y < expected.Height; y++)
        {
            for (int x = 0; x < expected.Width; x++)
                Assert.Equal(expected[x, y], actual[x, y]);
        }
    }
}
