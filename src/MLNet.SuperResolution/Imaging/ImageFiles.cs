using MLNet.SuperResolution.Imaging.Metadata;
using MLNet.SuperResolution.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace MLNet.SuperResolution.Imaging;

/// <summary>An image as read from a file: its pixels and the modes to write it back in.</summary>
/// <param name="Image">The pixels, EXIF orientation applied; alpha kept when the file has an alpha channel.</param>
/// <param name="Grayscale">Whether the file is a grayscale image (written back as grayscale).</param>
/// <param name="Warning">What was skipped while reading it (metadata beyond the limits), naming the file; null when nothing.</param>
internal sealed record DecodedImage(RgbImage Image, bool Grayscale, string? Warning = null);

/// <summary>What <see cref="ImageFiles.CheckHeader"/> found: the size, and the warning about skipped metadata, if any.</summary>
internal sealed record ImageHeader(int Width, int Height, string? Warning);

/// <summary>
/// Image files through ImageSharp 2.1.13 (the last Apache-licensed release). Before anything is identified or decoded,
/// the file's metadata is scanned within <see cref="SrMetadataLimits"/> (<see cref="MetadataScanner"/>: compressed
/// chunks are measured, never held, and items beyond the limits are dropped or the file refused); then the dimensions
/// are read from the header and checked against a pixel limit (crafted files and decompression bombs have had
/// advisories); then the first frame is decoded with every decoder told to ignore metadata, so that ImageSharp itself
/// never inflates or parses any. The EXIF orientation found by the scan is applied, 16-bit files are processed at 8
/// bits, alpha and grayscale are kept. Conversions between ImageSharp and <see cref="RgbImage"/> live here too.
/// </summary>
internal static class ImageFiles
{
    /// <summary>The default pixel limit before decoding: 100 megapixels.</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>
    /// ImageSharp with every decoder told to ignore metadata (ImageSharp 2.1.13 inflates PNG text chunks whole, joins
    /// JPEG segments by copying, and turns every EXIF tag into an array; src/ImageSharp/Formats/*/*DecoderCore.cs) and
    /// to decode the first frame only (an animation's frames are not checked by the pixel limit). A configuration of
    /// its own: <see cref="Configuration.Clone"/> would share the default's decoders.
    /// </summary>
    private static readonly Configuration Decoding = CreateDecodingConfiguration();

    /// <summary>The default limits on metadata; each reader gets a copy.</summary>
    internal static SrMetadataLimits DefaultMetadataLimits => new();

    /// <summary>The file extensions that <see cref="Write(Image{Rgba32}, bool, bool, string, int)"/> understands.</summary>
    public static readonly string[] WritableExtensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp"];

    /// <summary>Reads an image file; errors name the file.</summary>
    public static DecodedImage Read(string path, long maxPixels = DefaultMaxPixels, SrMetadataLimits? metadataLimits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path, maxPixels, metadataLimits);
    }

    /// <summary>
    /// Reads only the header and the metadata structure of an image file: its format is known, its size within
    /// <paramref name="maxPixels"/> and its metadata within <paramref name="metadataLimits"/> (or dropped with the
    /// warning returned); otherwise an <see cref="InvalidDataException"/> naming the file. Nothing is decoded.
    /// </summary>
    public static ImageHeader CheckHeader(string path, long maxPixels = DefaultMaxPixels, SrMetadataLimits? metadataLimits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file not found: {path}", path);
        using var stream = File.OpenRead(path);
        var report = MetadataScanner.Scan(stream, path, metadataLimits ?? DefaultMetadataLimits);
        var (info, _) = Identify(stream, path, maxPixels, report.LargestFrame);
        return new ImageHeader(info.Width, info.Height, report.DropWarning(path));
    }

    private static (IImageInfo Info, IImageFormat Format) Identify(Stream stream, string name, long maxPixels, (int Width, int Height) largestFrame)
    {
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(Decoding, stream, out format);
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
        long framePixels = (long)largestFrame.Width * largestFrame.Height;
        if (framePixels > maxPixels)
            throw new InvalidDataException(
                $"'{name}' is {info.Width}x{info.Height} but declares a frame of {largestFrame.Width}x{largestFrame.Height} ({framePixels / 1e6:F1} " +
                $"megapixels), above the limit of {maxPixels / 1e6:F1} megapixels checked before decoding; decoders allocate for the frame.");
        return (info, format);
    }

    /// <summary>Reads an image from a stream (copied to memory first when it cannot seek); <paramref name="name"/> is used in messages.</summary>
    public static DecodedImage Read(Stream stream, string name, long maxPixels = DefaultMaxPixels, SrMetadataLimits? metadataLimits = null)
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
        var report = MetadataScanner.Scan(stream, name, metadataLimits ?? DefaultMetadataLimits);
        stream.Position = start;
        var (info, format) = Identify(stream, name, maxPixels, report.LargestFrame);
        stream.Position = start;
        Image<Rgba32> image;
        try
        {
            image = Image.Load<Rgba32>(Decoding, stream);
        }
        catch (Exception e) when (IsDecodingFailure(e))
        {
            throw new InvalidDataException($"'{name}' could not be decoded as {format.Name}: {e.Message}", e);
        }

        using (image)
        {
            if (report.Orientation is >= 2 and <= 8)
            {
                image.Metadata.ExifProfile = new ExifProfile();
                image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, report.Orientation.Value);
                image.Mutate(x => x.AutoOrient());
            }

            var decoded = FromImageSharp(image, keepAlpha: true, name);
            bool alpha = HasAlphaChannel(info, image.Metadata) || Array.Exists(decoded.Alpha!, a => a != 255);
            if (!alpha)
                decoded = new RgbImage(decoded.Width, decoded.Height, decoded.Planes) { Source = name };
            return new DecodedImage(decoded, IsGrayscale(image.Metadata), report.DropWarning(name));
        }
    }

    private static Configuration CreateDecodingConfiguration()
    {
        var configuration = new Configuration(new PngConfigurationModule(), new JpegConfigurationModule(), new GifConfigurationModule(),
            new BmpConfigurationModule(), new PbmConfigurationModule(), new TgaConfigurationModule(), new TiffConfigurationModule(),
            new WebpConfigurationModule());
        var formats = configuration.ImageFormatsManager;
        formats.SetDecoder(PngFormat.Instance, new PngDecoder { IgnoreMetadata = true });
        formats.SetDecoder(JpegFormat.Instance, new JpegDecoder { IgnoreMetadata = true });
        formats.SetDecoder(GifFormat.Instance, new GifDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
        formats.SetDecoder(TiffFormat.Instance, new TiffDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
        formats.SetDecoder(WebpFormat.Instance, new WebpDecoder { IgnoreMetadata = true });
        return configuration;
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

    /// <summary>
    /// Writes a region of planar RGB (an <see cref="RgbRegionWriter"/>'s arguments) into an ImageSharp image, alpha
    /// 255: how the upscaler assembles its output in the image it returns, tile by tile.
    /// </summary>
    public static void WriteRgb(Image<Rgba32> image, ReadOnlySpan<byte> planarRgb, int left, int top, int width, int height)
    {
        PlanarRgbWriter.CheckRegion(planarRgb, left, top, width, height, image.Width, image.Height);
        int n = width * height;
        for (int y = 0; y < height; y++)
        {
            var row = image.DangerousGetPixelRowMemory(top + y).Span.Slice(left, width);
            for (int x = 0, i = y * width; x < width; x++, i++)
                row[x] = new Rgba32(planarRgb[i], planarRgb[n + i], planarRgb[2 * n + i], 255);
        }
    }

    /// <summary>Sets the alpha of every pixel of an ImageSharp image from a row-major plane of its size.</summary>
    public static void SetAlpha(Image<Rgba32> image, byte[] alpha)
    {
        int width = image.Width, height = image.Height;
        if (alpha.Length != width * height)
            throw new ArgumentException($"Expected {width * height} alpha bytes, got {alpha.Length}.", nameof(alpha));
        for (int y = 0; y < height; y++)
        {
            var row = image.DangerousGetPixelRowMemory(y).Span;
            for (int x = 0, i = y * width; x < width; x++, i++)
                row[x].A = alpha[i];
        }
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

    /// <summary>Writes an image to a file (format from the extension) through a temporary file and a rename; see <see cref="Write(Image{Rgba32}, bool, bool, Stream, SrImageFormat, int)"/>.</summary>
    public static void Write(Image<Rgba32> pixels, bool grayscale, bool alpha, string path, int jpegQuality)
    {
        var format = FormatOf(path);
        AtomicFile.Write(path, stream => Write(pixels, grayscale, alpha, stream, format, jpegQuality));
    }

    /// <summary>
    /// Encodes an image: <paramref name="grayscale"/> as grayscale (the BT.601 luma of the RGB, rounded, which is
    /// written into <paramref name="pixels"/> in place, R = G = B, so that no second full-size image is made), alpha
    /// kept when <paramref name="alpha"/> where the format holds it (PNG, WebP, BMP; JPEG has none), JPEG at
    /// <paramref name="jpegQuality"/>, WebP lossless.
    /// </summary>
    public static void Write(Image<Rgba32> pixels, bool grayscale, bool alpha, Stream output, SrImageFormat format, int jpegQuality)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(output);
        if (jpegQuality is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(jpegQuality), jpegQuality, "JPEG quality is 1..100.");
        if (grayscale)
            ToGray(pixels);
        IImageEncoder encoder = format switch
        {
            SrImageFormat.Png => new PngEncoder
            {
                BitDepth = PngBitDepth.Bit8,
                ColorType = (grayscale, alpha) switch
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
                ColorType = grayscale ? JpegColorType.Luminance : JpegColorType.YCbCrRatio420,
            },
            SrImageFormat.Webp => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            SrImageFormat.Bmp => new BmpEncoder { BitsPerPixel = alpha ? BmpBitsPerPixel.Pixel32 : BmpBitsPerPixel.Pixel24, SupportTransparency = alpha },
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format."),
        };
        pixels.Save(output, encoder);
    }

    /// <summary>BT.601 luma (rounded) in all three channels, in place; alpha kept.</summary>
    private static void ToGray(Image<Rgba32> image)
    {
        for (int y = 0; y < image.Height; y++)
        {
            var row = image.DangerousGetPixelRowMemory(y).Span;
            for (int x = 0; x < row.Length; x++)
            {
                var p = row[x];
                byte luma = (byte)Math.Clamp(Math.Round(0.299 * p.R + 0.587 * p.G + 0.114 * p.B), 0, 255);
                row[x] = new Rgba32(luma, luma, luma, p.A);
            }
        }
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
