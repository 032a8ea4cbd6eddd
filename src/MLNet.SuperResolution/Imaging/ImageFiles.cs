using MLNet.SuperResolution.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MLNet.SuperResolution.Imaging;

/// <summary>An image as read from a file: its pixels and the modes to write it back in.</summary>
/// <param name="Image">The pixels, EXIF orientation applied; alpha kept when the file has an alpha channel.</param>
/// <param name="Grayscale">Whether the file is a grayscale image (written back as grayscale).</param>
internal sealed record DecodedImage(RgbImage Image, bool Grayscale);

/// <summary>
/// Image files through ImageSharp 2.1.13 (the last Apache-licensed release): the dimensions are read from the header
/// and checked against a pixel limit before anything is decoded (crafted files and decompression bombs have had
/// advisories), EXIF orientation is applied, 16-bit files are processed at 8 bits, alpha and grayscale are kept.
/// Conversions between ImageSharp and <see cref="RgbImage"/> live here too.
/// </summary>
internal static class ImageFiles
{
    /// <summary>The default pixel limit before decoding: 100 megapixels.</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>The file extensions that <see cref="Write(DecodedImage, string, int)"/> understands.</summary>
    public static readonly string[] WritableExtensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp"];

    /// <summary>Reads an image file; errors name the file.</summary>
    public static DecodedImage Read(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path, maxPixels);
    }

    /// <summary>
    /// Reads only the header of an image file: its format is known and its size within <paramref name="maxPixels"/>;
    /// otherwise an <see cref="InvalidDataException"/> naming the file. Nothing is decoded.
    /// </summary>
    public static (int Width, int Height) CheckHeader(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file not found: {path}", path);
        using var stream = File.OpenRead(path);
        var (info, _) = Identify(stream, path, maxPixels);
        return (info.Width, info.Height);
    }

    private static (IImageInfo Info, IImageFormat Format) Identify(Stream stream, string name, long maxPixels)
    {
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(Configuration.Default, stream, out format);
        }
        catch (Exception e) when (IsDecodingFailure(e))
        {
            throw new InvalidDataException($"'{name}' is not a readable image: {e.Message}", e);
        }

        if (info is null || format is null)
            throw new InvalidDataException($"'{name}' is not an image in a supported format (PNG, JPEG, BMP, GIF, TGA, TIFF, WebP, PBM).");
        long pixels = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0)
            throw new InvalidDataException($"'{name}' declares an empty image ({info.Width}x{info.Height}).");
        if (pixels > maxPixels)
            throw new InvalidDataException(
                $"'{name}' is {info.Width}x{info.Height} ({pixels / 1e6:F1} megapixels), above the limit of {maxPixels / 1e6:F1} " +
                "megapixels checked before decoding; raise the pixel limit only for files you trust.");
        return (info, format);
    }

    /// <summary>Reads an image from a stream (copied to memory first when it cannot seek); <paramref name="name"/> is used in messages.</summary>
    public static DecodedImage Read(Stream stream, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (maxPixels <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, "The pixel limit must be positive.");
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }

        long start = stream.Position;
        var (info, format) = Identify(stream, name, maxPixels);
        stream.Position = start;
        Image<Rgba32> image;
        try
        {
            image = Image.Load<Rgba32>(Configuration.Default, stream);
        }
        catch (Exception e) when (IsDecodingFailure(e))
        {
            throw new InvalidDataException($"'{name}' could not be decoded as {format.Name}: {e.Message}", e);
        }

        using (image)
        {
            image.Mutate(x => x.AutoOrient());
            var decoded = FromImageSharp(image, keepAlpha: true, name);
            bool alpha = HasAlphaChannel(info, image.Metadata) || Array.Exists(decoded.Alpha!, a => a != 255);
            if (!alpha)
                decoded = new RgbImage(decoded.Width, decoded.Height, decoded.Planes) { Source = name };
            return new DecodedImage(decoded, IsGrayscale(image.Metadata));
        }
    }

    /// <summary>Copies an ImageSharp image into an <see cref="RgbImage"/>; alpha is kept when <paramref name="keepAlpha"/>.</summary>
    public static RgbImage FromImageSharp(Image<Rgba32> image, bool keepAlpha, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height, n = width * height;
        var planes = new byte[3 * n];
        byte[]? alpha = keepAlpha ? new byte[n] : null;
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < height; y++)
            {
                var row = accessor.GetRowSpan(y);
                for (int x = 0, i = y * width; x < width; x++, i++)
                {
                    var p = row[x];
                    planes[i] = p.R;
                    planes[n + i] = p.G;
                    planes[2 * n + i] = p.B;
                    if (alpha is not null)
                        alpha[i] = p.A;
                }
            }
        });
        return new RgbImage(width, height, planes, alpha) { Source = source };
    }

    /// <summary>Makes an ImageSharp image of an <see cref="RgbImage"/> (opaque where it has no alpha), row by row, with no intermediate copy.</summary>
    public static Image<Rgba32> ToImageSharp(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height, n = image.PlaneSize;
        var result = new Image<Rgba32>(width, height);
        result.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < height; y++)
            {
                var row = accessor.GetRowSpan(y);
                for (int x = 0, i = y * width; x < width; x++, i++)
                    row[x] = new Rgba32(image.Planes[i], image.Planes[n + i], image.Planes[2 * n + i], image.Alpha?[i] ?? (byte)255);
            }
        });
        return result;
    }

    /// <summary>The format a file name asks for, by its extension.</summary>
    public static SrImageFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => SrImageFormat.Png,
        ".jpg" or ".jpeg" => SrImageFormat.Jpeg,
        ".webp" => SrImageFormat.Webp,
        ".bmp" => SrImageFormat.Bmp,
        var other => throw new ArgumentException(
            $"Cannot tell the output format of '{path}' from its extension '{other}'; use one of {string.Join(", ", WritableExtensions)}.", nameof(path)),
    };

    /// <summary>Writes an image to a file (format from the extension) through a temporary file and a rename.</summary>
    public static void Write(DecodedImage image, string path, int jpegQuality)
    {
        var format = FormatOf(path);
        AtomicFile.Write(path, stream => Write(image, stream, format, jpegQuality));
    }

    /// <summary>
    /// Encodes an image: grayscale files as grayscale (BT.601 luma of the RGB result), alpha kept where the format
    /// holds it (PNG, WebP, BMP; JPEG has none), JPEG at <paramref name="jpegQuality"/>, WebP lossless.
    /// </summary>
    public static void Write(DecodedImage image, Stream output, SrImageFormat format, int jpegQuality)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(output);
        if (jpegQuality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(jpegQuality), jpegQuality, "JPEG quality is 1..100.");
        var pixels = image.Grayscale ? ToGray(image.Image) : image.Image;
        bool alpha = pixels.Alpha is not null;
        using var encoded = ToImageSharp(pixels);
        IImageEncoder encoder = format switch
        {
            SrImageFormat.Png => new PngEncoder
            {
                BitDepth = PngBitDepth.Bit8,
                ColorType = (image.Grayscale, alpha) switch
                {
                    (true, true) => PngColorType.GrayscaleWithAlpha,
                    (true, false) => PngColorType.Grayscale,
                    (false, true) => PngColorType.RgbWithAlpha,
                    _ => PngColorType.Rgb,
                },
            },
            SrImageFormat.Jpeg => new JpegEncoder
            {
                Quality = jpegQuality,
                ColorType = image.Grayscale ? JpegColorType.Luminance : JpegColorType.YCbCrRatio420,
            },
            SrImageFormat.Webp => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            SrImageFormat.Bmp => new BmpEncoder { BitsPerPixel = alpha ? BmpBitsPerPixel.Pixel32 : BmpBitsPerPixel.Pixel24, SupportTransparency = alpha },
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format."),
        };
        encoded.Save(output, encoder);
    }

    /// <summary>BT.601 luma (rounded) in all three planes; alpha kept.</summary>
    private static RgbImage ToGray(RgbImage image)
    {
        int n = image.PlaneSize;
        var planes = new byte[3 * n];
        for (int i = 0; i < n; i++)
        {
            byte y = (byte)Math.Clamp(Math.Round(0.299 * image.Planes[i] + 0.587 * image.Planes[n + i] + 0.114 * image.Planes[2 * n + i]), 0, 255);
            planes[i] = planes[n + i] = planes[2 * n + i] = y;
        }

        return new RgbImage(image.Width, image.Height, planes, image.Alpha) { Source = image.Source };
    }

    /// <summary>
    /// Whatever a decoder throws on malformed bytes: its own format exceptions, and the index, argument, overflow and
    /// invalid-operation exceptions that crafted files have provoked in image decoders. Not cancellation, and not
    /// out-of-memory (the pixel limit is checked before decoding).
    /// </summary>
    private static bool IsDecodingFailure(Exception e)
        => e is ImageFormatException or NotSupportedException or EndOfStreamException or IOException or InvalidDataException
            or IndexOutOfRangeException or ArgumentException or OverflowException or InvalidOperationException or NullReferenceException
            or ArithmeticException or FormatException;

    /// <summary>Whether the file declares an alpha channel (kept even where every pixel is opaque, to keep the mode).</summary>
    private static bool HasAlphaChannel(IImageInfo info, ImageMetadata metadata)
        => info.PixelType?.AlphaRepresentation is { } representation && representation != PixelAlphaRepresentation.None
           || metadata.GetPngMetadata().ColorType is PngColorType.RgbWithAlpha or PngColorType.GrayscaleWithAlpha;

    private static bool IsGrayscale(ImageMetadata metadata)
        => metadata.GetPngMetadata().ColorType is PngColorType.Grayscale or PngColorType.GrayscaleWithAlpha
           || metadata.GetJpegMetadata().ColorType is JpegColorType.Luminance;
}
