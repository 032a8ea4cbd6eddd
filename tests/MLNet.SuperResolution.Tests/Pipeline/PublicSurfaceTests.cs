using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>The public surface exactly as issue "The ML.NET super-resolution spine" writes it compiles and runs.</summary>
public sealed class PublicSurfaceTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    /// <summary>The user's own class.</summary>
    public sealed class ImagePath
    {
        public string Path { get; set; } = string.Empty;
    }

    [Fact]
    public void TheIssueSnippetRunsAsWritten()
    {
        var paths = new[] { _images.Crop("astronaut.png", 48, 48, 200, 120), _images.Crop("coffee.png", 48, 48, 250, 150) };
        var testPaths = new[] { _images.Crop("chelsea.png", 48, 48, 180, 90) };
        string espcnZip = Path.Combine(_images.Directory, "espcn-x2.zip");

        var ml = new MLContext(seed: 1);
        IDataView files = ml.Data.LoadFromEnumerable(paths.Select(p => new ImagePath { Path = p }));
        IDataView testFiles = ml.Data.LoadFromEnumerable(testPaths.Select(p => new ImagePath { Path = p }));

        var pipeline = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"))
            .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
            {
                Architecture = SrArchitecture.Espcn,
                Scale = 2,
                InputColumnName = "LowRes",
                LabelColumnName = "HighRes",
                OutputColumnName = "SuperRes",
                Epochs = 5,
            }));
        ITransformer model = pipeline.Fit(files);

        SuperResolutionMetrics m = ml.SuperResolution().Evaluate(model.Transform(testFiles),
            labelColumnName: "HighRes", scoreColumnName: "SuperRes", scale: 2);
        Assert.InRange(m.Psnr, 10, 60);
        Assert.InRange(m.Ssim, 0, 1);
        Assert.Single(m.PerImage);
        Assert.Equal(0, m.PerImage[0].Index);
        Assert.Equal(testPaths[0], m.PerImage[0].Source);

        ml.Model.Save(model, files.Schema, espcnZip);
        ITransformer again = ml.Model.Load(espcnZip, out _);
        Assert.Equal(m.Psnr, ml.SuperResolution().Evaluate(again.Transform(testFiles), scale: 2).Psnr);

        var bicubic = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 4);
        Assert.NotNull(bicubic.Fit(ml.Transforms.LoadImages("LowRes", null, "Path").Fit(testFiles).Transform(testFiles)));
    }

    [Fact]
    public void OutputColumnsFeedMLNetsOwnImageTransforms()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new ImagePath { Path = _images.Crop("coffee.png", 40, 30) } });
        var output = ml.Transforms.LoadImages("HighRes", null, "Path")
            .Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes"))
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2))
            .Append(ml.Transforms.ResizeImages("Thumbnail", imageWidth: 8, imageHeight: 6, inputColumnName: "SuperRes"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Thumbnail"))
            .Fit(data).Transform(data);
        var pixels = output.GetColumn<VBuffer<float>>("Pixels").Single().DenseValues().ToArray();
        Assert.Equal(3 * 8 * 6, pixels.Length);
        Assert.Contains(pixels, v => v > 0);
    }

    [SkippableFact]
    public void ImportedWeightsTheWayTheIssueWritesIt()
    {
        string weights = SharedData.Require("weights", "fsrcnn", "fsrcnn_x3.pth");
        var ml = new MLContext(seed: 1);
        var fsrcnn = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes",
            SrArchitecture.Fsrcnn, scale: 3, weightsPath: weights, channels: SrChannels.Y);
        var data = ml.Data.LoadFromEnumerable(new[] { new ImagePath { Path = _images.Crop("coffee.png", 30, 24) } });
        var lowRes = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data).Transform(data);
        var upscaled = TestImages.ReadImages(fsrcnn.Fit(lowRes).Transform(lowRes), "SuperRes");
        Assert.Equal((90, 72), (upscaled[0].Width, upscaled[0].Height));
    }
}
