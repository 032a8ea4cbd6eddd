using Microsoft.ML;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// The SR protocol through the ML.NET pipeline on Set5 (../shared): DownscaleImages reproduces the MATLAB-made LR
/// files, and Bicubic + Evaluate reproduces the reference table of docs/protocol.md.
/// </summary>
public sealed class ProtocolPipelineTests(ITestOutputHelper output)
{
    private sealed class Pair
    {
        public string HighResPath { get; set; } = string.Empty;

        public string LowResPath { get; set; } = string.Empty;
    }

    private static IDataView Set5(MLContext ml, int scale)
    {
        string folder = SharedData.Require("data", "benchmark", "Set5", $"x{scale}");
        var rows = Directory.GetFiles(Path.Combine(folder, "HR"), "*.png").OrderBy(p => p)
            .Select(hr => new Pair { HighResPath = hr, LowResPath = Path.Combine(folder, "LR", Path.GetFileName(hr)) });
        return ml.Data.LoadFromEnumerable(rows);
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void DownscaleImagesReproducesTheMatlabLowResolutionFiles(int scale)
    {
        var ml = new MLContext(seed: 1);
        var data = Set5(ml, scale);
        var degraded = ml.Transforms.LoadImages("HighRes", null, nameof(Pair.HighResPath))
            .Append(ml.Transforms.LoadImages("MatlabLowRes", null, nameof(Pair.LowResPath)))
            .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
            .Fit(data).Transform(data);
        var ours = TestImages.ReadImages(degraded, "LowRes");
        var matlab = TestImages.ReadImages(degraded, "MatlabLowRes");

        var agreement = PixelAgreement.Measure(ours.Zip(matlab));
        output.WriteLine($"Set5 x{scale}: {agreement}");
        agreement.AssertReproducesMatlab();
    }

    [SkippableTheory]
    [InlineData(2, 33.674, 0.9303)]
    [InlineData(3, 30.405, 0.8689)]
    [InlineData(4, 28.430, 0.8111)]
    public void BicubicThroughThePipelineMatchesTheReferenceTable(int scale, double psnr, double ssim)
    {
        var ml = new MLContext(seed: 1);
        var data = Set5(ml, scale);
        var model = ml.Transforms.LoadImages("HighRes", null, nameof(Pair.HighResPath))
            .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"))
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale))
            .Fit(data);
        var metrics = ml.SuperResolution().Evaluate(model.Transform(data), scale, "HighRes", "SuperRes");
        output.WriteLine($"Set5 x{scale} bicubic: {metrics.Psnr:F4} dB / {metrics.Ssim:F5} (reference {psnr} / {ssim})");
        Assert.Equal(5, metrics.Count);
        Assert.InRange(metrics.Psnr, psnr - 0.01, psnr + 0.01);
        Assert.InRange(metrics.Ssim, ssim - 0.0005, ssim + 0.0005);
    }
}
