using System.Globalization;
using System.Text.RegularExpressions;
using ImageFuzz;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Tests.Cli;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>
/// Every hostile-metadata kind (<see cref="MetadataBombs"/>: PNG zTXt/iTXt/iCCP, many zTXt chunks, amplified eXIf;
/// JPEG EXIF, XMP and ICC over many segments, amplified EXIF; WebP EXIF/XMP/ICCP chunks and a declared size beyond the
/// file; GIF comment and application extension chains, repeated frames; TIFF tags that share one value), expanding to
/// 512 MB (24 MB for the kinds carried uncompressed, which makes the file that large), through the three paths that
/// read image files: the upscaler API, <c>sr upscale</c>, and ML.NET's <c>LoadImages</c> (SkiaSharp) feeding our
/// transform. Each ends in a clean result or a clean refusal naming the file, with its peak resident memory within
/// <see cref="Bound"/>: 48 MiB plus twice the file's size. Before the metadata limits, the 0.5 MB zTXt file alone took
/// 3.5 GB through <c>sr upscale</c>.
/// </summary>
public sealed class MetadataBombTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    public static TheoryData<MetadataBombKind> Kinds() => new(Enum.GetValues<MetadataBombKind>());

    /// <summary>The payload each kind expands to in these tests.</summary>
    private static long Payload(MetadataBombKind kind) => MetadataBombs.IsCarried(kind) ? 24L << 20 : 512L << 20;

    /// <summary>The stated bound: peak resident memory added by one file, 48 MiB plus twice the file's size.</summary>
    private static long Bound(long fileBytes) => (48L << 20) + 2 * fileBytes;

    private string Bomb(MetadataBombKind kind)
        => _images.Write(kind + MetadataBombs.Extension(kind), MetadataBombs.Create(kind, Payload(kind)));

    /// <summary>What a clean read of the bomb must give: the carried picture, upscaled x2 by MATLAB's bicubic.</summary>
    private static (int Width, int Height) Expected(MetadataBombKind kind)
    {
        var (width, height) = MetadataBombs.Size(kind);
        return (2 * width, 2 * height);
    }

    [SkippableTheory]
    [MemberData(nameof(Kinds))]
    public void UpscalerApi_GivesTheImageOrACleanRefusal_WithinTheBound(MetadataBombKind kind)
    {
        Skip.If(PeakMemory.Unsupported is not null, PeakMemory.Unsupported);
        string bomb = Bomb(kind), result = Path.Combine(_images.Directory, kind + "-x2.png");
        var ml = new MLContext(seed: 1);
        using var bicubic = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2)
            .Fit(ml.Transforms.LoadImages("LowRes", null, "Path").Fit(TestImages.Paths(ml, [])).Transform(TestImages.Paths(ml, [])));
        using var upscaler = SuperResolutionUpscaler.FromTransformer(bicubic);
        var warnings = new List<SrWarningEventArgs>();
        upscaler.Warning += (_, e) => warnings.Add(e);
        Exception? refusal = null;

        long peak = PeakMemory.Measure(() => refusal = Record.Exception(() => upscaler.UpscaleFile(bomb, result)));

        long size = new FileInfo(bomb).Length;
        output.WriteLine($"{kind}: file {size / 1e6:F2} MB, peak +{peak / 1e6:F1} MB, {(refusal is null ? "upscaled" : refusal.Message)}; {warnings.FirstOrDefault()?.Message}");
        Assert.InRange(peak, 0, Bound(size));
        if (kind == MetadataBombKind.TiffTagsAmplified)
        {
            var error = Assert.IsType<InvalidDataException>(refusal);
            Assert.Contains(bomb, error.Message);
            Assert.Contains("TIFF tags", error.Message);
            return;
        }

        Assert.Null(refusal);
        var info = SixLabors.ImageSharp.Image.Identify(result);
        Assert.Equal(Expected(kind), (info.Width, info.Height));
        if (kind == MetadataBombKind.GifFrames)
        {
            Assert.Empty(warnings); // no metadata: the frames after the first are not read
            return;
        }

        var warning = Assert.Single(warnings);
        Assert.Equal(bomb, warning.Source);
        Assert.Contains(bomb, warning.Message);
        Assert.Contains("skipped unread", warning.Message);
    }

    [SkippableTheory]
    [MemberData(nameof(Kinds))]
    public void LoadImages_GivesTheImageOrACleanRowError_WithinTheBound(MetadataBombKind kind)
    {
        Skip.If(PeakMemory.Unsupported is not null, PeakMemory.Unsupported);
        string bomb = Bomb(kind);
        var ml = new MLContext(seed: 1);
        var rows = TestImages.Paths(ml, [bomb]);
        var pipeline = ml.Transforms.LoadImages("LowRes", null, "Path")
            .Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2));
        using var model = pipeline.Fit(rows);
        List<SuperResolution.Imaging.RgbImage>? images = null;
        Exception? failure = null;

        long peak = PeakMemory.Measure(() => failure = Record.Exception(() => { images = ReadWithPaths(model.Transform(rows)); }));

        long size = new FileInfo(bomb).Length;
        output.WriteLine($"{kind}: file {size / 1e6:F2} MB, peak +{peak / 1e6:F1} MB, {(failure is null ? "decoded" : failure.GetBaseException().Message)}");
        Assert.InRange(peak, 0, Bound(size));
        if (failure is not null)
        {
            // SkiaSharp reads no TIFF, nor a WebP whose chunk claims more than the file: a row error naming the file.
            Assert.Contains(kind, new[] { MetadataBombKind.TiffTagsAmplified, MetadataBombKind.WebpDeclaredSize });
            Assert.Contains(bomb, failure.Message);
            return;
        }

        var image = Assert.Single(images!);
        Assert.Equal(Expected(kind), (image.Width, image.Height));
    }

    /// <summary>The upscaled images, read with the path column active (as Evaluate and Fit read), so that errors can name the file.</summary>
    private static List<SuperResolution.Imaging.RgbImage> ReadWithPaths(IDataView data)
    {
        var images = new List<SuperResolution.Imaging.RgbImage>();
        using var cursor = data.GetRowCursor([data.Schema["SuperRes"], data.Schema["Path"]]);
        var getter = cursor.GetGetter<MLImage>(data.Schema["SuperRes"]);
        while (cursor.MoveNext())
        {
            MLImage image = null!;
            getter(ref image);
            images.Add(SuperResolution.Imaging.RgbImage.FromMLImage(image));
            image.Dispose();
        }

        return images;
    }

    [SkippableTheory]
    [MemberData(nameof(Kinds))]
    public void SrUpscale_GivesTheImageOrACleanFailure_WithinTheBound(MetadataBombKind kind)
    {
        string plain = _images.Write("plain.png", MetadataBombs.Create(MetadataBombKind.PngZtxt, 1 << 16));
        var baseline = SrPeak(plain, Path.Combine(_images.Directory, "plain-x2.png"), out _);
        Skip.If(baseline is null, "sr reports no peak memory on this platform");
        string bomb = Bomb(kind), result = Path.Combine(_images.Directory, kind + "-x2.png");

        long? peak = SrPeak(bomb, result, out var run);

        long size = new FileInfo(bomb).Length;
        output.WriteLine($"{kind}: file {size / 1e6:F2} MB, sr peak {peak / 1e6:F1} MB (plain file {baseline / 1e6:F1} MB)");
        Assert.NotNull(peak);
        Assert.InRange(peak!.Value, 0, baseline!.Value + Bound(size));
        if (kind == MetadataBombKind.TiffTagsAmplified)
        {
            Assert.Equal(1, run.ExitCode);
            Assert.Contains("1 file(s) failed:", run.Stderr);
            Assert.Contains($"'{bomb}' is refused: its TIFF tags", run.Stderr);
            return;
        }

        Assert.Equal(0, run.ExitCode);
        var info = SixLabors.ImageSharp.Image.Identify(result);
        Assert.Equal(Expected(kind), (info.Width, info.Height));
        if (kind != MetadataBombKind.GifFrames)
            Assert.Contains($"warning: '{bomb}': ", run.Stderr);
    }

    /// <summary>Runs <c>sr upscale</c> on one file with MATLAB's bicubic; returns the peak memory it reports.</summary>
    private long? SrPeak(string input, string result, out (int ExitCode, string Stdout, string Stderr) run)
    {
        run = SrTool.Run(output, "upscale", input, "--arch", "Bicubic", "--scale", "2", "-o", result);
        var match = Regex.Match(run.Stdout, @"peak memory (\d+) MB");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) << 20 : null;
    }
}
