using System.Buffers.Binary;
using ImageFuzz;
using Microsoft.ML;
using MLNet.SuperResolution.Tests.Cli;
using SixLabors.ImageSharp;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>
/// <see cref="SrMetadataLimits"/> as users meet them: metadata within the limits is read (EXIF orientation applied) with
/// no warning; items beyond the per-item, total or count limit are skipped with one warning that names the file and
/// each kind of item, or the file is refused when the limits say so; corrupt compressed chunks are skipped; structures
/// that no option relaxes (WebP chunks larger than the file) are refused.
/// </summary>
public sealed class MetadataLimitsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();
    private readonly MLContext _ml = new(seed: 1);

    public void Dispose() => _images.Dispose();

    private SuperResolutionUpscaler Bicubic(out SuperResolutionTransformer transformer)
    {
        var empty = TestImages.Paths(_ml, []);
        transformer = _ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2)
            .Fit(_ml.Transforms.LoadImages("LowRes", null, "Path").Fit(empty).Transform(empty));
        return SuperResolutionUpscaler.FromTransformer(transformer);
    }

    /// <summary>Upscales <paramref name="file"/> x2; returns the output's size and the warnings.</summary>
    private ((int Width, int Height) Size, List<string> Warnings) Upscale(string file, SrMetadataLimits? limits = null)
    {
        using var upscaler = Bicubic(out var transformer);
        using var owned = transformer;
        if (limits is not null)
            upscaler.MetadataLimits = limits;
        var warnings = new List<string>();
        upscaler.Warning += (_, e) => warnings.Add(e.Message);
        string result = Path.Combine(_images.Directory, Path.GetFileNameWithoutExtension(file) + "-x2.png");
        upscaler.UpscaleFile(file, result);
        var info = Image.Identify(result);
        warnings.ForEach(output.WriteLine);
        return ((info.Width, info.Height), warnings);
    }

    private static byte[] Ztxt(long inflatedBytes, string keyword = "Comment")
        => MetadataBombs.PngChunk("zTXt", [.. System.Text.Encoding.ASCII.GetBytes(keyword), 0, 0, .. MetadataBombs.ZlibOfZeros(inflatedBytes)]);

    [Fact]
    public void MetadataWithinTheLimits_IsRead_WithoutAWarning_AndItsOrientationApplied()
    {
        string png = _images.Write("small.png", MetadataBombs.Png(
            Ztxt(100_000),
            MetadataBombs.PngChunk("tEXt", [.. "Title"u8, 0, .. "a title"u8]),
            MetadataBombs.PngChunk("iCCP", [.. "icc"u8, 0, 0, .. MetadataBombs.ZlibOfZeros(3000)]),
            MetadataBombs.PngChunk("eXIf", MetadataBombs.ExifWithOrientation(6))));
        string webp = _images.Write("small.webp", MetadataBombs.Webp(0x28,
            MetadataBombs.WebpChunk("ICCP", new byte[3000]), MetadataBombs.WebpChunk("EXIF", MetadataBombs.ExifWithOrientation(8))));

        Assert.Null(SrImageFiles.Check(png).Warning);
        Assert.Null(SrImageFiles.Check(webp).Warning);
        foreach (string file in new[] { png, webp })
        {
            var (size, warnings) = Upscale(file);
            Assert.Empty(warnings);
            Assert.Equal((48, 64), size); // 32 x 24 stored sideways: rotated by the EXIF orientation, then x2
        }
    }

    [Fact]
    public void AnItemAboveThePerItemLimit_IsSkipped_WithAWarningNamingTheFileAndItem_AndThePixelsAreUpscaled()
    {
        string png = _images.Write("bomb.png", MetadataBombs.Png(
            MetadataBombs.PngChunk("eXIf", MetadataBombs.ExifWithOrientation(6)), Ztxt(40L << 20, "Author")));

        var (size, warnings) = Upscale(png);

        Assert.Equal((48, 64), size); // the EXIF (within the limits) still applies
        string warning = Assert.Single(warnings);
        Assert.Contains($"'{png}'", warning);
        Assert.Contains("PNG zTXt text 'Author': more than 8 MiB once read, above the 8 MiB per-item limit", warning);
        Assert.Equal(warning, SrImageFiles.Check(png).Warning);
    }

    [Fact]
    public void RaisedLimits_KeepWhatTheDefaultsSkip()
    {
        string png = _images.Write("twelve.png", MetadataBombs.Png(Ztxt(12L << 20)));
        Assert.NotNull(SrImageFiles.Check(png).Warning);
        var raised = new SrMetadataLimits { MaxItemBytes = 16L << 20, MaxTotalBytes = 32L << 20 };
        Assert.Null(SrImageFiles.Check(png, metadataLimits: raised).Warning);
        Assert.Empty(Upscale(png, raised).Warnings);
    }

    [Fact]
    public void TheTotalLimit_KeepsTheFirstItems_AndSkipsTheRest()
    {
        string png = _images.Write("two.png", MetadataBombs.Png(Ztxt(5L << 20, "First"), Ztxt(5L << 20, "Second"), Ztxt(5L << 20, "Third")));
        var limits = new SrMetadataLimits { MaxTotalBytes = 12L << 20 };

        string warning = SrImageFiles.Check(png, metadataLimits: limits).Warning!;

        Assert.Contains("1 metadata item(s) skipped", warning);
        Assert.Contains("PNG zTXt text 'Third': more than 2 MiB once read, above the 2 MiB left of the 12 MiB total limit", warning);
        Assert.DoesNotContain("'First'", warning);
    }

    [Fact]
    public void TheItemCountLimit_SkipsItemsAfterIt_WithoutMeasuringThem()
    {
        var chunks = Enumerable.Range(0, 1500).Select(i => MetadataBombs.PngChunk("tEXt", [.. "Note"u8, 0, (byte)('a' + i % 26)])).ToArray();
        string png = _images.Write("many.png", MetadataBombs.Png(chunks));

        string warning = SrImageFiles.Check(png).Warning!;

        Assert.Contains("476 metadata item(s) skipped", warning);
        Assert.Contains("PNG tEXt text 'Note': beyond the first 1,024 metadata items (the item limit) (x476)", warning);
    }

    [Fact]
    public void RefuseOption_RefusesTheFile_NamingItAndTheItem_ButNotAFileWithinTheLimits()
    {
        string bomb = _images.Write("bomb.png", MetadataBombs.Create(MetadataBombKind.PngZtxt, 512L << 20));
        string small = _images.Write("small.png", MetadataBombs.Png(Ztxt(1000)));
        var refuse = new SrMetadataLimits { WhenExceeded = SrOversizedMetadata.Refuse };
        using var upscaler = Bicubic(out var transformer);
        using var owned = transformer;
        upscaler.MetadataLimits = refuse;

        var error = Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(bomb, Path.Combine(_images.Directory, "out.png")));

        Assert.Contains($"'{bomb}' is refused", error.Message);
        Assert.Contains("PNG zTXt text 'Comment': more than 8 MiB once read", error.Message);
        Assert.False(File.Exists(Path.Combine(_images.Directory, "out.png")));
        Assert.Throws<InvalidDataException>(() => SrImageFiles.Check(bomb, metadataLimits: refuse));
        using var stream = File.OpenRead(bomb);
        Assert.Contains("the input stream", Assert.Throws<InvalidDataException>(() => upscaler.Upscale(stream, new MemoryStream(), SrImageFormat.Png)).Message);
        upscaler.UpscaleFile(small, Path.Combine(_images.Directory, "small-x2.png"));
    }

    [Fact]
    public void AnExifAboveTheLimits_IsSkipped_AndItsOrientationIsNotApplied()
    {
        string jpeg = _images.Write("rotated.jpg", MetadataBombs.Jpeg([0xFF, 0xE1, 0, 8 + 26, .. "Exif\0\0"u8, .. MetadataBombs.ExifWithOrientation(6)]));
        Assert.Equal((48, 64), Upscale(jpeg).Size);

        var (size, warnings) = Upscale(jpeg, new SrMetadataLimits { MaxItemBytes = 16 });

        Assert.Equal((64, 48), size);
        Assert.Contains("JPEG EXIF (APP1)", Assert.Single(warnings));
    }

    [Fact]
    public void ACorruptCompressedChunk_IsSkippedAsCorrupt()
    {
        string png = _images.Write("corrupt.png", MetadataBombs.Png(MetadataBombs.PngChunk("zTXt", [.. "Comment"u8, 0, 0, 0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0x00, 0x12])));

        var (size, warnings) = Upscale(png);

        Assert.Equal((64, 48), size);
        Assert.Contains("PNG zTXt text 'Comment': corrupt", Assert.Single(warnings));
    }

    [Fact]
    public void AWebpImageChunkDeclaringMoreThanTheFileHolds_IsRefused()
    {
        byte[] webp = MetadataBombs.Webp(0, [], []);
        int image = 12 + 18; // RIFF header, VP8X chunk
        Assert.Equal("VP8L"u8.ToArray(), webp[image..(image + 4)]);
        BinaryPrimitives.WriteUInt32LittleEndian(webp.AsSpan(image + 4), 0x7FFF_FFF0);
        string file = _images.Write("declared.webp", webp);

        var error = Assert.Throws<InvalidDataException>(() => SrImageFiles.Check(file));

        Assert.Contains($"'{file}' is refused: its WebP 'VP8L' chunk declares 2048 MiB where", error.Message);
    }

    [Fact]
    public void Limits_RejectNegativeValues_AndTheUpscalerKeepsACopy()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SrMetadataLimits { MaxItemBytes = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SrMetadataLimits { MaxTotalBytes = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SrMetadataLimits { MaxItems = -1 });
        using var upscaler = Bicubic(out var transformer);
        using var owned = transformer;
        var limits = new SrMetadataLimits { MaxItemBytes = 100 };
        upscaler.MetadataLimits = limits;
        limits.MaxItemBytes = 5;
        Assert.Equal(100, upscaler.MetadataLimits.MaxItemBytes);
        Assert.Equal(SrMetadataLimits.DefaultMaxTotalBytes, upscaler.MetadataLimits.MaxTotalBytes);
    }

    [Fact]
    public void SrUpscale_WarnsOrRefusesAsItsOptionsSay()
    {
        string bomb = _images.Write("bomb.png", MetadataBombs.Create(MetadataBombKind.PngZtxt, 64L << 20));
        string outFolder = Path.Combine(_images.Directory, "out");

        var warned = SrTool.Run(output, "upscale", bomb, "--arch", "Bicubic", "--scale", "2", "-o", outFolder);
        Assert.Equal(0, warned.ExitCode);
        Assert.Contains($"warning: '{bomb}': 1 metadata item(s) skipped unread (PNG zTXt text 'Comment'", warned.Stderr);

        var raised = SrTool.Run(output, "upscale", bomb, "--arch", "Bicubic", "--scale", "2", "-o", outFolder, "--max-metadata", "80", "--max-metadata-total", "80");
        Assert.Equal(0, raised.ExitCode);
        Assert.DoesNotContain("warning", raised.Stderr);

        var refused = SrTool.Run(output, "upscale", bomb, "--arch", "Bicubic", "--scale", "2", "-o", outFolder, "--refuse-oversized-metadata");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"'{bomb}' is refused: it carries metadata beyond the limits", refused.Stderr);
    }

    [Fact]
    public void SrEval_WarnsAboutSkippedMetadata_AndScoresThePixels()
    {
        string folder = Path.Combine(_images.Directory, "hr");
        Directory.CreateDirectory(folder);
        string bomb = Path.Combine(folder, "bomb.png");
        File.WriteAllBytes(bomb, MetadataBombs.Create(MetadataBombKind.PngZtxt, 64L << 20));
        string model = Path.Combine(_images.Directory, "bicubic.zip");
        using (var upscaler = Bicubic(out var transformer))
        using (transformer)
            _ml.Model.Save(transformer, _ml.Transforms.LoadImages("LowRes", null, "Path").Fit(TestImages.Paths(_ml, [])).Transform(TestImages.Paths(_ml, [])).Schema, model);

        var (code, stdout, stderr) = SrTool.Run(output, "eval", "--model", model, folder, "--json");

        Assert.Equal(0, code);
        Assert.Contains($"warning: '{bomb}': 1 metadata item(s) skipped unread", stderr);
        Assert.Contains("\"psnr\": \"Infinity\"", stdout); // the picture is a gradient, which bicubic restores exactly
    }
}
