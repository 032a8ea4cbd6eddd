using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFuzz;

/// <summary>Small valid files of every kind the reader sees, made from a bundled CC0 photo (and a CMYK JPEG made by <see cref="CmykJpeg"/>).</summary>
public static class SeedFiles
{
    public static IReadOnlyList<byte[]> Create(string samplesFolder)
    {
        using var photo = Image.Load<Rgba32>(Path.Combine(samplesFolder, "coffee.png"));
        photo.Mutate(x => x.Crop(new Rectangle(200, 150, 24, 20)));
        using var translucent = photo.Clone(x => x.Opacity(0.5f));
        var encoders = new (Image Image, SixLabors.ImageSharp.Formats.IImageEncoder Encoder)[]
        {
            (photo, new PngEncoder { ColorType = PngColorType.Rgb }),
            (translucent, new PngEncoder { ColorType = PngColorType.RgbWithAlpha }),
            (photo, new PngEncoder { ColorType = PngColorType.Grayscale }),
            (photo, new PngEncoder { ColorType = PngColorType.Palette }),
            (photo, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 }),
            (photo, new JpegEncoder { Quality = 90 }),
            (photo, new GifEncoder()),
            (photo, new BmpEncoder()),
        };
        var files = encoders.Select(e =>
        {
            using var stream = new MemoryStream();
            e.Image.Save(stream, e.Encoder);
            return stream.ToArray();
        }).ToList();
        files.Add(CmykJpeg.Create([(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255), (0, 255, 255, 0)])); // ImageSharp cannot write CMYK
        return files;
    }
}
