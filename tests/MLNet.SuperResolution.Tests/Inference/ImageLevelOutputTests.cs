using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// The image-level outputs of <see cref="SuperResolutionUpscaler"/> (ImageSharp image, <see cref="MLImage"/>, file,
/// stream; tiled and whole; with alpha; grayscale files) are byte for byte those recorded in Fixtures/ before tiles
/// were written straight into the output image (commit "ImageLevelOutputTests"), by the tiny ESPCN x2 of
/// Fixtures/espcn-x2-format-10002.zip on Fixtures/coffee-12x10.png.
/// </summary>
public sealed class ImageLevelOutputTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Inference", "Fixtures");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mlnet-sr-image-level-" + Guid.NewGuid().ToString("N")[..8]);

    public ImageLevelOutputTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static SuperResolutionUpscaler Upscaler(int? tileSize)
        => SuperResolutionUpscaler.FromModelFile(Path.Combine(Fixtures, "espcn-x2-format-10002.zip"), new SrInferenceOptions { TileSize = tileSize });

    /// <summary>The 12 x 10 fixture photo with a translucent alpha ramp (0..255 across both axes).</summary>
    private static Image<Rgba32> Translucent()
    {
        var image = Image.Load<Rgba32>(Path.Combine(Fixtures, "coffee-12x10.png"));
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
            {
                var p = image[x, y];
                image[x, y] = new Rgba32(p.R, p.G, p.B, (byte)(x * 21 + y * 3));
            }

        return image;
    }

    private static byte[] Pixels(Image<Rgba32> image)
    {
        var pixels = new byte[4 * image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    private static byte[] Fixture(string name)
    {
        using var image = Image.Load<Rgba32>(Path.Combine(Fixtures, name));
        return Pixels(image);
    }

    [Fact]
    public void WholeImage_Opaque_EqualsThePipelinesRecordedOutput()
    {
        using var upscaler = Upscaler(tileSize: null);
        using var input = Image.Load<Rgba32>(Path.Combine(Fixtures, "coffee-12x10.png"));
        using var output = upscaler.Upscale(input);
        Assert.Equal(Fixture("espcn-x2-format-10002-coffee-12x10.png"), Pixels(output));
    }

    /// <summary>Tiles of 8 with the receptive field as overlap recorded the same bytes as the whole image.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData(8)]
    public void Translucent_ImageSharpMLImageAndStream_EqualTheRecordedOutput(int? tileSize)
    {
        using var upscaler = Upscaler(tileSize);
        using var input = Translucent();
        byte[] expected = Fixture("espcn-x2-format-10002-coffee-12x10-rgba.png");

        using var output = upscaler.Upscale(input);
        Assert.Equal(expected, Pixels(output));

        // MLImage: BGRA32 in, BGRA32 out.
        var rgba = Pixels(input);
        using var mlInput = MLImage.CreateFromPixels(input.Width, input.Height, MLPixelFormat.Rgba32, rgba);
        using var mlOutput = upscaler.Upscale(mlInput);
        Assert.Equal(MLPixelFormat.Bgra32, mlOutput.PixelFormat);
        var bgra = mlOutput.Pixels.ToArray();
        for (int i = 0; i < bgra.Length; i += 4)
            (bgra[i], bgra[i + 2]) = (bgra[i + 2], bgra[i]);
        Assert.Equal(expected, bgra);

        // Stream: an RGBA PNG in, an RGBA PNG out.
        using var encoded = new MemoryStream();
        input.SaveAsPng(encoded, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        encoded.Position = 0;
        using var result = new MemoryStream();
        upscaler.Upscale(encoded, result, SrImageFormat.Png);
        result.Position = 0;
        using var decoded = Image.Load<Rgba32>(result);
        Assert.Equal(expected, Pixels(decoded));
    }

    [Fact]
    public void GrayscaleFile_Tiled_EqualsTheRecordedOutput()
    {
        using var upscaler = Upscaler(tileSize: 8);
        using var input = Image.Load<Rgba32>(Path.Combine(Fixtures, "coffee-12x10.png"));
        string inputPath = Path.Combine(_directory, "gray.png"), outputPath = Path.Combine(_directory, "gray-x2.png");
        input.SaveAsPng(inputPath, new PngEncoder { ColorType = PngColorType.Grayscale });
        upscaler.UpscaleFile(inputPath, outputPath);
        Assert.Equal(PngColorType.Grayscale, Image.Identify(outputPath).Metadata.GetPngMetadata().ColorType);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures, "espcn-x2-format-10002-coffee-12x10-gray-tile8.png")), File.ReadAllBytes(outputPath));
    }
}
