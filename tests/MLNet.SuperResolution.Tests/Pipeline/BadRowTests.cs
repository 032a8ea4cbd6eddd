using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// Bad rows (unreadable files, missing images, sizes that do not match the scale) in training data, validation sets and
/// evaluated data: <see cref="SrBadRowHandling.Fail"/> (default) names the row, the file and how to skip;
/// <see cref="SrBadRowHandling.Skip"/> leaves them out with a warning each and counts them.
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class BadRowTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private static SuperResolutionOptions Options(SrBadRowHandling handling = SrBadRowHandling.Fail) => new()
    {
        Architecture = SrArchitecture.Espcn,
        Preset = SrPreset.Notes,
        Scale = 2,
        Epochs = 2,
        PatchesPerImage = 2,
        BatchSize = 2,
        PatchSize = 16,
        LogEveryNSteps = 0,
        BadRowHandling = handling,
    };

    /// <summary>Files that LoadImages (SkiaSharp) or DownscaleImages cannot turn into a row, each named for what it is.</summary>
    private Dictionary<string, string> BadFiles()
    {
        byte[] png = File.ReadAllBytes(_images.Crop("coffee.png", 32, 32));
        return new Dictionary<string, string>
        {
            ["zero-byte"] = _images.Write("zero-byte.png", []),
            ["text"] = _images.Write("text-named.png", "this is text, not a PNG"u8.ToArray()),
            ["header-truncated"] = _images.Write("header-truncated.png", png[..40]),
            ["missing"] = Path.Combine(_images.Directory, "missing.png"),
            ["1x1"] = _images.Crop("chelsea.png", 1, 1), // smaller than the scale: DownscaleImages has nothing to shrink
        };
    }

    private static IDataView Loaded(MLContext ml, IEnumerable<string> paths)
    {
        var data = TestImages.Paths(ml, paths);
        return ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes"))
            .Fit(data).Transform(data);
    }

    private static List<string> Warnings(MLContext ml, string source)
    {
        var warnings = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Source.StartsWith(source, StringComparison.Ordinal) && e.Kind == ChannelMessageKind.Warning)
                lock (warnings) warnings.Add(e.Message);
        };
        return warnings;
    }

    private static float[] Weights(SuperResolutionTransformer model)
        => model.Upscaler.Network!.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).ToArray();

    [Theory]
    [InlineData("zero-byte", "not an image that LoadImages (SkiaSharp) can decode")]
    [InlineData("text", "not an image that LoadImages (SkiaSharp) can decode")]
    [InlineData("header-truncated", "not an image that LoadImages (SkiaSharp) can decode")]
    [InlineData("missing", "Could not find file")]
    [InlineData("1x1", "smaller than the scale 2")]
    public void ByDefaultABadTrainingRowFailsNamingTheRowTheFileAndHowToSkip(string kind, string problem)
    {
        var ml = new MLContext(seed: 1);
        string bad = BadFiles()[kind];
        var data = Loaded(ml, [_images.Crop("coffee.png", 32, 32), _images.Crop("astronaut.png", 32, 32, 100, 100), bad]);
        var error = Assert.Throws<InvalidDataException>(() => ml.Transforms.SuperResolution(Options()).Fit(data));
        Assert.Contains("at row 2", error.Message);
        Assert.Contains($"Path='{bad}'", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.Contains("BadRowHandling = SrBadRowHandling.Skip", error.Message);
        Assert.Equal(1, error.Message.Split("at row 2").Length - 1); // reported once, not wrapped again by every reader downstream
    }

    [Fact]
    public void SkippedTrainingRowsAreCountedWarnedAndLeaveTrainingAsWithoutThem()
    {
        var good = new[] { _images.Crop("coffee.png", 32, 32, 200, 150), _images.Crop("astronaut.png", 32, 32, 180, 100) };
        var bad = BadFiles();
        var mixed = new[] { good[0], bad["zero-byte"], bad["text"], good[1], bad["header-truncated"], bad["missing"], bad["1x1"] };

        var ml = new MLContext(seed: 1);
        var warnings = Warnings(ml, nameof(SuperResolutionEstimator));
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Info) lock (log) log.Add(e.Message); };
        using var skipped = ml.Transforms.SuperResolution(Options(SrBadRowHandling.Skip)).Fit(Loaded(ml, mixed));
        using var clean = new MLContext(seed: 1).Transforms.SuperResolution(Options()).Fit(Loaded(new MLContext(seed: 1), good));

        Assert.Equal(5, skipped.TrainingSummary!.SkippedTrainingRows);
        Assert.Equal(0, skipped.TrainingSummary.SkippedValidationRows);
        Assert.Equal(0, clean.TrainingSummary!.SkippedTrainingRows);
        Assert.Equal(5, warnings.Count(w => w.Contains("Skipped a bad row")));
        foreach (var (row, path) in new[] { (1, bad["zero-byte"]), (2, bad["text"]), (4, bad["header-truncated"]), (5, bad["missing"]), (6, bad["1x1"]) })
            Assert.Contains(warnings, w => w.Contains($"at row {row}") && w.Contains(path));
        Assert.Contains(log, line => line.Contains("Read 2 training image pairs (5 bad rows skipped)"));
        Assert.Equal(Weights(clean), Weights(skipped)); // the bad rows took no part
    }

    [Fact]
    public void SkippedValidationRowsAreCountedAndSavedWithTheModel()
    {
        var ml = new MLContext(seed: 1);
        var training = Loaded(ml, [_images.Crop("coffee.png", 32, 32)]);
        var bad = BadFiles();
        var options = Options(SrBadRowHandling.Skip);
        options.ValidationSet = Loaded(ml, [bad["text"], _images.Crop("chelsea.png", 32, 32, 150, 80), bad["missing"]]);
        using var model = ml.Transforms.SuperResolution(options).Fit(training);
        Assert.Equal(0, model.TrainingSummary!.SkippedTrainingRows);
        Assert.Equal(2, model.TrainingSummary.SkippedValidationRows);
        Assert.Equal(2, model.TrainingSummary.Validations.Count);
        Assert.All(model.TrainingSummary.Validations, v => Assert.True(double.IsFinite(v.Psnr)));

        string path = Path.Combine(_images.Directory, "model.zip");
        ml.Model.Save(model, training.Schema, path);
        using var loaded = (SuperResolutionTransformer)ml.Model.Load(path, out _);
        Assert.Equal((0, 2), (loaded.TrainingSummary!.SkippedTrainingRows, loaded.TrainingSummary.SkippedValidationRows));

        options.BadRowHandling = SrBadRowHandling.Fail;
        var error = Assert.Throws<InvalidDataException>(() => ml.Transforms.SuperResolution(options).Fit(training));
        Assert.Contains(bad["text"], error.Message);
        Assert.Contains("SkippedValidationRows", error.Message);
    }

    [Fact]
    public void SizesThatDoNotMatchTheScaleAreABadRowToo()
    {
        // LR and HR from separate files: the second pair's LR is not half its HR.
        var ml = new MLContext(seed: 1);
        string[] high = [_images.Crop("coffee.png", 32, 32), _images.Crop("astronaut.png", 32, 32, 180, 100)];
        string[] low = [_images.Crop("coffee.png", 16, 16, 300, 200), _images.Crop("astronaut.png", 15, 16, 100, 100)];
        var rows = ml.Data.LoadFromEnumerable(high.Zip(low, (h, l) => new PairRow { High = h, Low = l }));
        var data = ml.Transforms.LoadImages("HighRes", null, "High").Append(ml.Transforms.LoadImages("LowRes", null, "Low")).Fit(rows).Transform(rows);
        var warnings = Warnings(ml, nameof(SuperResolutionEstimator));
        using var model = ml.Transforms.SuperResolution(Options(SrBadRowHandling.Skip)).Fit(data);
        Assert.Equal(1, model.TrainingSummary!.SkippedTrainingRows);
        Assert.Contains(warnings, w => w.Contains("Row 1") && w.Contains("15x16") && w.Contains("at scale 2 it must be 30x32") && w.Contains(low[1]));
    }

    [Fact]
    public void WhenEveryRowIsBadSkippingStillFails()
    {
        var ml = new MLContext(seed: 1);
        var bad = BadFiles();
        var error = Assert.Throws<InvalidDataException>(() =>
            ml.Transforms.SuperResolution(Options(SrBadRowHandling.Skip)).Fit(Loaded(ml, [bad["text"], bad["zero-byte"]])));
        Assert.Contains("Every row of the training data (2) was bad", error.Message);
        Assert.Contains(bad["text"], error.Message);
    }

    [Fact]
    public void EvaluateFailsOnABadRowByDefaultAndSkipsItWhenAsked()
    {
        var ml = new MLContext(seed: 1);
        var bad = BadFiles();
        string[] good = [_images.Crop("coffee.png", 34, 34, 200, 150), _images.Crop("astronaut.png", 30, 36, 180, 100)];
        IDataView Upscaled(params string[] paths)
        {
            var loaded = Loaded(ml, paths);
            return ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2).Fit(loaded).Transform(loaded);
        }

        var data = Upscaled(good[0], bad["header-truncated"], good[1], bad["1x1"]);
        var error = Assert.Throws<InvalidDataException>(() => ml.SuperResolution().Evaluate(data, 2));
        Assert.Contains("at row 1", error.Message);
        Assert.Contains(bad["header-truncated"], error.Message);
        Assert.Contains("badRowHandling: SrBadRowHandling.Skip", error.Message);

        var warnings = Warnings(ml, nameof(SuperResolutionCatalog));
        var metrics = ml.SuperResolution().Evaluate(data, 2, badRowHandling: SrBadRowHandling.Skip);
        var reference = ml.SuperResolution().Evaluate(Upscaled(good), 2);
        Assert.Equal(2, metrics.Count);
        Assert.Equal(reference.Psnr, metrics.Psnr);
        Assert.Equal(reference.Ssim, metrics.Ssim);
        Assert.Equal(new[] { 0, 2 }, metrics.PerImage.Select(m => m.Index));
        Assert.Equal(new[] { 1L, 3L }, metrics.SkippedRows.Select(r => r.Index));
        Assert.Contains(bad["header-truncated"], metrics.SkippedRows[0].Reason);
        Assert.Contains("smaller than the scale 2", metrics.SkippedRows[1].Reason);
        Assert.Equal(2, warnings.Count);
        Assert.Empty(reference.SkippedRows);
    }

    [Fact]
    public void UnknownHandlingIsRejected()
    {
        var ml = new MLContext(seed: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.SuperResolution(Options((SrBadRowHandling)7)));
        var data = Loaded(ml, [_images.Crop("coffee.png", 32, 32)]);
        var upscaled = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2).Fit(data).Transform(data);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.SuperResolution().Evaluate(upscaled, 2, badRowHandling: (SrBadRowHandling)7));
    }

    private sealed class PairRow
    {
        public string High { get; set; } = string.Empty;

        public string Low { get; set; } = string.Empty;
    }
}
