using System.Buffers.Binary;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// The upscaler outside pipelines: images as users have them (RGBA, grayscale, 16-bit, EXIF-rotated), the pixel limit
/// before decoding, output formats by extension, models from files, and concurrent calls on one instance.
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class SuperResolutionUpscalerTests : IDisposable
{
    private readonly TestImages _images = new();
    private readonly MLContext _ml = new(seed: 1);

    public void Dispose() => _images.Dispose();

    /// <summary>ESPCN x2 (Notes, RGB) with seeded random weights: a real network, deterministic.</summary>
    private SuperResolutionTransformer Espcn() => TestModels.Random(_ml, SrArchitecture.Espcn, 2, SrChannels.Rgb, seed: 5);

    private static Image<Rgba32> Load(string path) => Image.Load<Rgba32>(path);

    [Fact]
    public void ConcurrentUpscalesOnOneInstance_EqualSequentialOnes()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        var inputs = new[] { "coffee.png", "astronaut.png", "chelsea.png", "brick.png" }
            .Select((name, i) => Load(_images.Crop(name, 24 + 2 * i, 20, 100, 80))).ToArray();
        var sequential = inputs.Select(i => Pixels(upscaler.Upscale(i))).ToArray();
        var concurrent = new byte[inputs.Length * 3][];
        Parallel.For(0, concurrent.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            k => concurrent[k] = Pixels(upscaler.Upscale(inputs[k % inputs.Length])));
        for (int k = 0; k < concurrent.Length; k++)
            Assert.Equal(sequential[k % inputs.Length], concurrent[k]);
        foreach (var image in inputs)
            image.Dispose();
    }

    [Fact]
    public void Rgba_KeepsAlpha_UpscaledWithBicubic_AndTheSameColourAsOpaqueInput()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        using var opaque = Load(_images.Crop("coffee.png", 20, 16, 200, 150));
        using var translucent = opaque.Clone();
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 20; x++)
            {
                var p = translucent[x, y];
                translucent[x, y] = new Rgba32(p.R, p.G, p.B, (byte)(x * 12));
            }

        string input = Path.Combine(_images.Directory, "rgba.png"), output = Path.Combine(_images.Directory, "rgba-x2.png");
        translucent.SaveAsPng(input, new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        upscaler.UpscaleFile(input, output);

        Assert.Equal(PngColorType.RgbWithAlpha, Image.Identify(output).Metadata.GetPngMetadata().ColorType);
        using var result = Load(output);
        Assert.Equal((40, 32), (result.Width, result.Height));
        var alphaPlanes = new byte[3 * 20 * 16];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 20; x++)
                    alphaPlanes[c * 320 + y * 20 + x] = (byte)(x * 12);
        var expectedAlpha = MatlabImresize.Upscale(new RgbImage(20, 16, alphaPlanes), 2);
        using var fromOpaque = upscaler.Upscale(opaque);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 40; x++)
            {
                Assert.Equal(expectedAlpha.Planes[y * 40 + x], result[x, y].A);
                Assert.Equal(fromOpaque[x, y].Rgb, result[x, y].Rgb);
                Assert.Equal(255, fromOpaque[x, y].A);
            }
    }

    [Fact]
    public void Grayscale_StaysGrayscale()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string output = Path.Combine(_images.Directory, "camera-x2.png");
        upscaler.MaxInputPixels = 512 * 512;
        upscaler.UpscaleFile(TestImages.Sample("camera.png"), output);
        var info = Image.Identify(output);
        Assert.Equal(PngColorType.Grayscale, info.Metadata.GetPngMetadata().ColorType);
        var source = Image.Identify(TestImages.Sample("camera.png"));
        Assert.Equal((2 * source.Width, 2 * source.Height), (info.Width, info.Height));
    }

    [Fact]
    public void ExifOrientation_IsHonoured()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        using var image = Load(_images.Crop("coffee.png", 24, 16, 200, 150));
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6); // stored sideways: rotate 90 degrees to view
        string input = Path.Combine(_images.Directory, "rotated.jpg"), output = Path.Combine(_images.Directory, "rotated-x2.png");
        image.SaveAsJpeg(input);
        upscaler.UpscaleFile(input, output);
        var info = Image.Identify(output);
        Assert.Equal((32, 48), (info.Width, info.Height));
    }

    [Fact]
    public void SixteenBitPng_IsProcessedAtEightBits()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        using var eight = Load(_images.Crop("coffee.png", 20, 16, 200, 150));
        using var sixteen = eight.CloneAs<Rgb48>();
        string input = Path.Combine(_images.Directory, "deep.png"), output = Path.Combine(_images.Directory, "deep-x2.png");
        sixteen.SaveAsPng(input, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb });
        upscaler.UpscaleFile(input, output);
        using var result = Load(output);
        using var expected = upscaler.Upscale(eight);
        Assert.Equal(Pixels(expected), Pixels(result));
    }

    [Fact]
    public void DecompressionBombHeader_IsRefusedBeforeDecoding_NamingTheFile()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string bomb = _images.Write("bomb.png", PngHeaderOnly(65535, 65535));
        var error = Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(bomb, Path.Combine(_images.Directory, "bomb-x2.png")));
        Assert.Contains(bomb, error.Message);
        Assert.Contains("65535x65535", error.Message);
        Assert.Contains("above the limit of 100.0 megapixels", error.Message);

        upscaler.MaxInputPixels = 100;
        string small = _images.Crop("coffee.png", 20, 16);
        var limited = Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(small, Path.Combine(_images.Directory, "small-x2.png")));
        Assert.Contains("20x16", limited.Message);
        Assert.Empty(Directory.GetFiles(_images.Directory, "*x2.png"));
    }

    [Fact]
    public void NotAnImage_AndUnknownOutputExtension_GiveClearErrors()
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        string text = _images.Write("text.png", "hello, not a picture"u8.ToArray());
        var error = Assert.Throws<InvalidDataException>(() => upscaler.UpscaleFile(text, Path.Combine(_images.Directory, "t.png")));
        Assert.Contains(text, error.Message);
        var format = Assert.Throws<ArgumentException>(() => upscaler.UpscaleFile(text, Path.Combine(_images.Directory, "t.gifx")));
        Assert.Contains("'.gifx'", format.Message);
    }

    [Theory]
    [InlineData(SrImageFormat.Png)]
    [InlineData(SrImageFormat.Jpeg)]
    [InlineData(SrImageFormat.Webp)]
    [InlineData(SrImageFormat.Bmp)]
    public void Streams_RoundTripEveryOutputFormat(SrImageFormat format)
    {
        using var transformer = Espcn();
        using var upscaler = SuperResolutionUpscaler.FromTransformer(transformer);
        using var input = File.OpenRead(_images.Crop("coffee.png", 20, 16, 200, 150));
        using var output = new MemoryStream();
        upscaler.Upscale(input, output, format);
        output.Position = 0;
        using var result = Image.Load<Rgba32>(output, out var detected);
        Assert.Equal((40, 32), (result.Width, result.Height));
        Assert.Equal(format.ToString(), detected.Name, ignoreCase: true);
        if (format != SrImageFormat.Jpeg)
        {
            using var again = Load(_images.Crop("coffee.png", 20, 16, 200, 150));
            using var expected = upscaler.Upscale(again);
            Assert.Equal(Pixels(expected), Pixels(result)); // lossless formats hold exactly the upscaled pixels
        }
    }

    [Fact]
    public void FromModelFile_UsesTheLastSuperResolutionStepOfASavedPipeline()
    {
        var data = TestImages.Paths(_ml, new[] { _images.Crop("coffee.png", 20, 16, 200, 150) });
        var pipeline = _ml.Transforms.LoadImages("LowRes", null, "Path")
            .Append(_ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 3)).Fit(data);
        string zip = Path.Combine(_images.Directory, "bicubic.zip");
        _ml.Model.Save(pipeline, data.Schema, zip);
        using var upscaler = SuperResolutionUpscaler.FromModelFile(zip);
        Assert.Equal((SrArchitecture.Bicubic, 3), (upscaler.Architecture, upscaler.Scale));
        using var image = MLImage.CreateFromFile(TestImages.Sample("coffee.png"));
        using var result = upscaler.Upscale(image);
        Assert.Equal((3 * image.Width, 3 * image.Height), (result.Width, result.Height));
        Assert.Equal(MatlabImresize.Upscale(RgbImage.FromMLImage(image), 3).Planes, RgbImage.FromMLImage(result).Planes);

        var loadOnly = _ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data);
        string other = Path.Combine(_images.Directory, "no-sr.zip");
        _ml.Model.Save(loadOnly, data.Schema, other);
        var error = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(other));
        Assert.Contains("holds no super-resolution transform", error.Message);
        Assert.Throws<FileNotFoundException>(() => SuperResolutionUpscaler.FromModelFile(Path.Combine(_images.Directory, "none.zip")));
    }

    [Fact]
    public void InferenceOptions_OverrideTheTransformers_TiledEqualsWholeImage()
    {
        using var transformer = Espcn();
        using var whole = SuperResolutionUpscaler.FromTransformer(transformer);
        using var tiled = SuperResolutionUpscaler.FromTransformer(transformer, new SrInferenceOptions { TileSize = 8 });
        using var ensemble = SuperResolutionUpscaler.FromTransformer(transformer, new SrInferenceOptions { SelfEnsemble = true });
        Assert.Null(whole.Inference.TileSize);
        Assert.Equal(8, tiled.Inference.TileSize);
        using var input = Load(_images.Crop("coffee.png", 37, 29, 200, 150));
        byte[] a = Pixels(whole.Upscale(input)), b = Pixels(tiled.Upscale(input)), c = Pixels(ensemble.Upscale(input));
        // Tiling with the receptive field as overlap is exact to 1e-4 before rounding: at most one level after it.
        Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 1), "tiled output differs from whole-image output by more than one level");
        Assert.NotEqual(a, c);
    }

    private static byte[] Pixels(Image<Rgba32> image)
    {
        var pixels = new Rgba32[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels.SelectMany(p => new[] { p.R, p.G, p.B, p.A }).ToArray();
    }

    /// <summary>A PNG signature and an IHDR chunk declaring <paramref name="width"/> x <paramref name="height"/> RGB, and nothing else.</summary>
    private static byte[] PngHeaderOnly(int width, int height)
    {
        var ihdr = new byte[17];
        "IHDR"u8.CopyTo(ihdr);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(8), height);
        ihdr[12] = 8; // bit depth
        ihdr[13] = 2; // RGB
        var file = new List<byte> { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 };
        file.AddRange(ihdr);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(ihdr));
        file.AddRange(crc);
        return file.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }

        return ~crc;
    }

    [Fact]
    public void TileProgress_IsRaisedOncePerTile_InOrder_AndOnlyForTiledImages()
    {
        using var model = Espcn();
        using var tiled = SuperResolutionUpscaler.FromTransformer(model, new SrInferenceOptions { TileSize = 16, TileOverlap = 4 });
        var seen = new List<(int Done, int Count)>();
        tiled.TileProgress += (_, e) => seen.Add((e.TilesDone, e.TileCount));
        using (var image = Load(_images.Crop("coffee.png", 40, 20, 200, 150)))
        using (tiled.Upscale(image))
        {
        }

        Assert.Equal(Enumerable.Range(1, 6).Select(i => (i, 6)), seen); // 3 x 2 tiles of 16 over 40 x 20

        using var whole = SuperResolutionUpscaler.FromTransformer(model);
        int raised = 0;
        whole.TileProgress += (_, _) => raised++;
        using (var image = Load(_images.Crop("coffee.png", 20, 16, 200, 150)))
        using (whole.Upscale(image))
        {
        }

        Assert.Equal(0, raised);
        // Another upscaler on the same network hears nothing of the first one's tiles.
        Assert.Equal(6, seen.Count);
    }

    [Fact]
    public void CompareWithBicubic_TellsARandomNetworkFromBicubicItself()
    {
        using var random = Espcn();
        var comparison = random.CompareWithBicubic();
        Assert.True(comparison.IsFarBelowBicubic, comparison.ToString());
        Assert.Contains("BELOW bicubic on the built-in check patches", comparison.Warning);

        using var bicubic = _ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 3)
            .Fit(_ml.Transforms.LoadImages("LowRes", null, "Path").Fit(TestImages.Paths(_ml, [_images.Crop("coffee.png", 12, 12)]))
                .Transform(TestImages.Paths(_ml, [_images.Crop("coffee.png", 12, 12)])));
        var same = bicubic.CompareWithBicubic();
        Assert.Equal(same.BicubicPsnr, same.ModelPsnr);
        Assert.Null(same.Warning);
        Assert.StartsWith("+0.00 dB over bicubic", same.ToString());
    }
}
