using ImageFuzz;
using Microsoft.ML;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>
/// Hostile and unusual image files through the upscaler (files are generated here): each gives a correct output or a
/// clear <see cref="InvalidDataException"/> naming the file, never another exception, a hang or unbounded memory. Plus a
/// short run of the mutation fuzzer (examples/ImageFuzz runs 10,000 cases).
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class ImageCorpusTests : IDisposable
{
    private readonly TestImages _images = new();
    private readonly MLContext _ml = new(seed: 1);

    public void Dispose() => _images.Dispose();

    private SuperResolutionTransformer Network(SrArchitecture architecture, SrChannels channels)
        => TestModels.Random(_ml, architecture, 2, channels, seed: 3);

    private byte[] Png(int width, int height, PngColorType colorType = PngColorType.Rgb)
    {
        using var image = Image.Load<Rgba32>(_images.Crop("coffee.png", width, height, 200, 150));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, new PngEncoder { ColorType = colorType });
        return stream.ToArray();
    }

    private byte[] Jpeg(int width, int height)
    {
        using var image = Image.Load<Rgba32>(_images.Crop("coffee.png", width, height, 200, 150));
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    public static TheoryData<string> BrokenFiles() => new() { "zero-byte.png", "truncated.png", "text.png", "header-only-bomb.png", "garbage.jpg" };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void BrokenFiles_GiveAClearErrorNamingTheFile(string name)
    {
        byte[] bytes = name switch
        {
            "zero-byte.png" => [],
            "truncated.png" => Png(40, 30)[..200],
            "text.png" => "This is a text file named .png"u8.ToArray(),
            "header-only-bomb.png" => Png(40, 30)[..33].Select((b, i) => i is >= 16 and < 24 ? (byte)0xFF : b).ToArray(), // IHDR 0xFFFFFFFF-ish
            "garbage.jpg" => [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 1, 2, 3],
            _ => throw new ArgumentException(name),
        };
        string path = _images.Write(name, bytes);
        using var transformer = Network(SrArchitecture.Espcn, SrChannels.Rgb);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        var error = Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(path, Path.Combine(_images.Directory, "out.png")));
        Assert.Contains(path, error.Message);
        Assert.False(File.Exists(Path.Combine(_images.Directory, "out.png")));
    }

    [Fact]
    public void TruncatedJpeg_DecodesWhatIsThereOrFailsClearly()
    {
        byte[] jpeg = Jpeg(40, 32);
        string path = _images.Write("truncated.jpg", jpeg[..(jpeg.Length * 2 / 3)]);
        using var transformer = Network(SrArchitecture.Espcn, SrChannels.Rgb);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string output = Path.Combine(_images.Directory, "truncated-x2.png");
        try
        {
            upscaler.UpscaleFile(path, output);
            Assert.Equal((80, 64), (Image.Identify(output).Width, Image.Identify(output).Height));
        }
        catch (InvalidDataException e)
        {
            Assert.Contains(path, e.Message);
        }
    }

    [Theory]
    [InlineData(SrArchitecture.Espcn, SrChannels.Rgb, 1, 1)]
    [InlineData(SrArchitecture.Espcn, SrChannels.Rgb, 2, 2)]
    [InlineData(SrArchitecture.Fsrcnn, SrChannels.Y, 1, 1)]
    [InlineData(SrArchitecture.Vdsr, SrChannels.Y, 2, 2)]
    [InlineData(SrArchitecture.EdsrBaseline, SrChannels.Rgb, 1, 2)]
    public void TinyImages_Upscale(SrArchitecture architecture, SrChannels channels, int width, int height)
    {
        string path = _images.Write($"tiny-{width}x{height}.png", Png(width, height));
        using var transformer = Network(architecture, channels);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string output = Path.Combine(_images.Directory, "tiny-x2.png");
        upscaler.UpscaleFile(path, output);
        Assert.Equal((2 * width, 2 * height), (Image.Identify(output).Width, Image.Identify(output).Height));
    }

    [Theory]
    [InlineData(PngColorType.Palette, PngColorType.Rgb)]
    [InlineData(PngColorType.GrayscaleWithAlpha, PngColorType.GrayscaleWithAlpha)]
    [InlineData(PngColorType.Grayscale, PngColorType.Grayscale)]
    public void PngModes_AreReadAndKept(PngColorType input, PngColorType expected)
    {
        string path = _images.Write($"{input}.png", Png(20, 16, input));
        using var transformer = Network(SrArchitecture.Espcn, SrChannels.Rgb);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string output = Path.Combine(_images.Directory, $"{input}-x2.png");
        upscaler.UpscaleFile(path, output);
        var info = Image.Identify(output);
        Assert.Equal((40, 32), (info.Width, info.Height));
        Assert.Equal(expected, info.Metadata.GetPngMetadata().ColorType);
    }

    [Fact]
    public void AnimatedGif_UpscalesItsFirstFrame_AndAPngNamedJpgIsReadByContent()
    {
        using var first = Image.Load<Rgba32>(_images.Crop("coffee.png", 20, 16, 200, 150));
        using var second = Image.Load<Rgba32>(_images.Crop("astronaut.png", 20, 16, 100, 100));
        first.Frames.AddFrame(second.Frames.RootFrame);
        string gif = Path.Combine(_images.Directory, "animated.gif");
        first.SaveAsGif(gif, new GifEncoder());
        string misnamed = _images.Write("really-a-png.jpg", Png(20, 16));
        using var transformer = Network(SrArchitecture.Espcn, SrChannels.Rgb);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        foreach (var input in new[] { gif, misnamed })
        {
            string output = Path.Combine(_images.Directory, Path.GetFileNameWithoutExtension(input) + "-x2.png");
            upscaler.UpscaleFile(input, output);
            Assert.Equal((40, 32), (Image.Identify(output).Width, Image.Identify(output).Height));
        }
    }

    /// <summary>A 2x2 uncompressed RGB TIFF of 32-bit floats (SampleFormat 3) holding NaN, +inf, -inf and ordinary values.</summary>
    private static byte[] FloatTiff(float[] samples)
    {
        var ifd = new (ushort Tag, ushort Type, uint Count, uint Value)[]
        {
            (256, 3, 1, 2), (257, 3, 1, 2), (258, 3, 3, 0), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, 0),
            (277, 3, 1, 3), (278, 3, 1, 2), (279, 4, 1, (uint)(samples.Length * 4)), (284, 3, 1, 1), (339, 3, 3, 0),
        };
        uint ifdStart = 8, ifdSize = (uint)(2 + ifd.Length * 12 + 4);
        uint bitsOffset = ifdStart + ifdSize, formatOffset = bitsOffset + 6, dataOffset = formatOffset + 6;
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write("II"u8);
        writer.Write((ushort)42);
        writer.Write(ifdStart);
        writer.Write((ushort)ifd.Length);
        foreach (var (tag, type, count, value) in ifd)
        {
            writer.Write(tag);
            writer.Write(type);
            writer.Write(count);
            uint v = tag switch { 258 => bitsOffset, 339 => formatOffset, 273 => dataOffset, _ => value };
            if (type == 3 && count == 1)
            {
                writer.Write((ushort)v);
                writer.Write((ushort)0);
            }
            else
            {
                writer.Write(v);
            }
        }

        writer.Write(0u);
        foreach (ushort bits in new ushort[] { 32, 32, 32 })
            writer.Write(bits);
        foreach (ushort format in new ushort[] { 3, 3, 3 })
            writer.Write(format);
        foreach (float sample in samples)
            writer.Write(sample);
        return stream.ToArray();
    }

    [Fact]
    public void FloatTiffWithNaNAndInfinity_UpscalesToValidPixelsOrFailsClearly()
    {
        float[] samples = [float.NaN, 0.5f, 1f, float.PositiveInfinity, 0f, 0.25f, float.NegativeInfinity, 0.75f, 0.5f, 0.1f, 0.2f, 0.3f];
        string path = _images.Write("float.tiff", FloatTiff(samples));
        string output = Path.Combine(_images.Directory, "float-x2.png");
        using var transformer = Network(SrArchitecture.Espcn, SrChannels.Rgb);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        try
        {
            upscaler.UpscaleFile(path, output);
        }
        catch (InvalidDataException e)
        {
            Assert.Contains(path, e.Message); // a clear refusal naming the file is the other acceptable outcome
            Assert.False(File.Exists(output));
            return;
        }

        // Decoded: NaN and infinities became ordinary 8-bit values on the way in, and the network saw finite input.
        using var result = Image.Load<Rgba32>(output);
        Assert.Equal((4, 4), (result.Width, result.Height));
        using var decoded = Image.Load<Rgba32>(path);
        var ordinary = decoded[1, 1]; // the pixel (0.1, 0.2, 0.3) reads as those values
        Assert.InRange(ordinary.R, 25, 26);
        Assert.InRange(ordinary.G, 50, 52);
        Assert.InRange(ordinary.B, 76, 77);
    }

    [Fact]
    public void CmykJpeg_IsConvertedToRgb_ByTheUpscalerAndByLoadImages()
    {
        // White, cyan, black (K only) and red (magenta + yellow), one flat 8x8 block each, Adobe-inverted CMYK.
        (byte, byte, byte, byte)[] inks = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255), (0, 255, 255, 0)];
        (int R, int G, int B)[] expected = [(255, 255, 255), (0, 255, 255), (0, 0, 0), (255, 0, 0)];
        string path = _images.Write("cmyk.jpg", CmykJpeg.Create(inks));
        Assert.Equal(4, ComponentsInFrame(File.ReadAllBytes(path)));

        using var bicubic = _ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2)
            .Fit(_ml.Transforms.LoadImages("LowRes", null, "Path").Fit(TestImages.Paths(_ml, [])).Transform(TestImages.Paths(_ml, [])));
        using var upscaler = SuperResolutionUpscaler.FromTransformer(bicubic);
        string output = Path.Combine(_images.Directory, "cmyk-x2.png");
        upscaler.UpscaleFile(path, output);
        using (var result = Image.Load<Rgba32>(output))
        {
            Assert.Equal((64, 16), (result.Width, result.Height));
            for (int block = 0; block < inks.Length; block++)
            {
                var pixel = result[16 * block + 8, 8];
                AssertNear(expected[block], (pixel.R, pixel.G, pixel.B), $"upscaled block {block}");
            }
        }

        // The pipeline's decoder (LoadImages -> MLImage, SkiaSharp) reads the same file to the same colours.
        var data = _ml.Transforms.LoadImages("Image", null, "Path").Fit(TestImages.Paths(_ml, [path])).Transform(TestImages.Paths(_ml, [path]));
        var image = Assert.Single(TestImages.ReadImages(data, "Image"));
        Assert.Equal((32, 8), (image.Width, image.Height));
        for (int block = 0; block < inks.Length; block++)
        {
            int i = 4 * image.Width + 8 * block + 4, plane = image.PlaneSize;
            AssertNear(expected[block], (image.Planes[i], image.Planes[plane + i], image.Planes[2 * plane + i]), $"decoded block {block}");
        }
    }

    private static void AssertNear((int R, int G, int B) expected, (int R, int G, int B) actual, string what)
        => Assert.True(Math.Abs(expected.R - actual.R) <= 3 && Math.Abs(expected.G - actual.G) <= 3 && Math.Abs(expected.B - actual.B) <= 3,
            $"{what}: expected {expected}, got {actual}");

    /// <summary>The component count in the JPEG's start-of-frame marker (4 for CMYK).</summary>
    private static int ComponentsInFrame(byte[] jpeg)
    {
        for (int i = 2; i + 9 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0)
                return jpeg[i + 9];
        }

        return 0;
    }

    [Fact]
    public void ShortFuzz_MutatedFilesEitherDecodeOrFailClearly()
    {
        var seeds = SeedFiles.Create(Path.Combine(AppContext.BaseDirectory, "samples"));
        using var bicubic = _ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2)
            .Fit(_ml.Transforms.LoadImages("LowRes", null, "Path").Fit(TestImages.Paths(_ml, [])).Transform(TestImages.Paths(_ml, [])));
        using var upscaler = SuperResolutionUpscaler.FromTransformer(bicubic);
        upscaler.MaxInputPixels = 4_000_000;
        var result = Fuzzer.Run(seeds, cases: 400, seed: 7, bytes =>
        {
            using var input = new MemoryStream(bytes);
            using var output = new MemoryStream();
            upscaler.Upscale(input, output, SrImageFormat.Png);
        }, TimeSpan.FromSeconds(20));
        Assert.True(result.Unexpected.Count == 0, string.Join("\n", result.Unexpected));
        Assert.True(result.Decoded > 0 && result.Rejected > 0, $"{result.Decoded} decoded, {result.Rejected} rejected: the mutations should produce both");
    }

    /// <summary>The same mutants through ML.NET's LoadImages (SkiaSharp, ML.NET 6), after SrImageFiles.Check and without it.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ShortFuzz_ThroughLoadImages_MutatedFilesEitherDecodeOrFailClearly(bool check)
    {
        var seeds = SeedFiles.Create(Path.Combine(AppContext.BaseDirectory, "samples"));
        using var readers = new FuzzReaders(seed: 5);
        var result = Fuzzer.Run(seeds, cases: 400, seed: 9, bytes => readers.LoadImages(bytes, check), TimeSpan.FromSeconds(20));
        Assert.True(result.Unexpected.Count == 0, string.Join("\n", result.Unexpected));
        Assert.True(result.Decoded > 0 && result.Rejected > 0, $"{result.Decoded} decoded, {result.Rejected} rejected: the mutations should produce both");
    }

    /// <summary>
    /// A 24 x 20 GIF whose first frame declares 12114 x 43933 (found by the fuzzer through LoadImages: SkiaSharp took
    /// 2 GB for it, and SrImageFiles.Check passed it, reading the logical screen only): refused by the pixel check.
    /// </summary>
    [Fact]
    public void AGifFrameBeyondThePixelLimit_IsRefusedBeforeAnyDecoder()
    {
        using var image = Image.Load<Rgba32>(_images.Crop("coffee.png", 24, 20, 200, 150));
        using var stream = new MemoryStream();
        image.SaveAsGif(stream);
        byte[] gif = stream.ToArray();
        int at = 13 + ((gif[10] & 0x80) != 0 ? 3 * (2 << (gif[10] & 7)) : 0);
        while (gif[at] == 0x21)
        {
            at += 2;
            while (gif[at] != 0)
                at += gif[at] + 1;
            at++;
        }

        Assert.Equal(0x2C, gif[at]);
        BitConverter.TryWriteBytes(gif.AsSpan(at + 5, 2), (ushort)12114);
        BitConverter.TryWriteBytes(gif.AsSpan(at + 7, 2), (ushort)43933);
        string path = _images.Write("frame.gif", gif);
        var error = Assert.Throws<InvalidDataException>(() => SrImageFiles.Check(path));
        Assert.Contains("declares a frame of 12114x43933", error.Message);
        Assert.Contains(path, error.Message);
        using var upscaler = SuperResolutionUpscaler.FromTransformer(Network(SrArchitecture.Espcn, SrChannels.Rgb));
        Assert.Contains("declares a frame", Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(path, Path.Combine(_images.Directory, "out.png"))).Message);
    }
}
