using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ImageFuzz;

/// <summary>
/// Small valid files of every kind the reader sees, made from a bundled CC0 photo (and a CMYK JPEG made by
/// <see cref="CmykJpeg"/>), and one file of each hostile-metadata kind (<see cref="MetadataBombs"/>): compressed chunks
/// that inflate to 64 MB, tags that point at shared values, frames that repeat, and metadata carried in segments,
/// chunks and sub-block chains (256 KB, within the limits, so that mutants also exercise metadata that is read).
/// </summary>
public static class SeedFiles
{
    /// <summary>What the metadata seeds expand to: compressed and amplified kinds far beyond the limits, carried kinds within them.</summary>
    public static long SeedPayload(MetadataBombKind kind)
        => MetadataBombs.IsCarried(kind) ? 256 << 10 : kind == MetadataBombKind.GifFrames ? 16 << 20 : 64 << 20;

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
        files.AddRange(Enum.GetValues<MetadataBombKind>().Select(kind => MetadataBombs.Create(kind, SeedPayload(kind))));
        return files;
    }
}
