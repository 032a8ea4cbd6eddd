using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace ImageFuzz;

/// <summary>The hostile-metadata file kinds that <see cref="MetadataBombs"/> makes.</summary>
public enum MetadataBombKind
{
    /// <summary>PNG with a zTXt (compressed text) chunk that inflates to the payload.</summary>
    PngZtxt,
    /// <summary>PNG with a compressed iTXt (international text) chunk that inflates to the payload.</summary>
    PngItxt,
    /// <summary>PNG with an iCCP (colour profile) chunk that inflates to the payload.</summary>
    PngIccp,
    /// <summary>PNG with thousands of small zTXt chunks, each inflating to 1/256 of the payload.</summary>
    PngManyZtxt,
    /// <summary>PNG with an eXIf chunk whose tags all point at one shared value (the payload is the values' sum).</summary>
    PngExifAmplified,
    /// <summary>JPEG with the payload as EXIF split over as many APP1 segments as it takes (64 KB each).</summary>
    JpegExifSegments,
    /// <summary>JPEG with the payload as XMP split over APP1 segments.</summary>
    JpegXmpSegments,
    /// <summary>JPEG with the payload as an ICC profile split over APP2 segments (more than the 255 the standard allows when large).</summary>
    JpegIccSegments,
    /// <summary>JPEG whose EXIF (over several APP1 segments) has tags that all point at one shared value.</summary>
    JpegExifAmplified,
    /// <summary>WebP (extended format) with an EXIF chunk of the payload's size.</summary>
    WebpExif,
    /// <summary>WebP with an XMP chunk of the payload's size.</summary>
    WebpXmp,
    /// <summary>WebP with an ICCP chunk of the payload's size.</summary>
    WebpIccp,
    /// <summary>WebP whose last chunk (EXIF) declares the payload's size but holds a few bytes.</summary>
    WebpDeclaredSize,
    /// <summary>GIF with one comment extension whose sub-block chain carries the payload.</summary>
    GifComment,
    /// <summary>GIF with an XMP application extension whose sub-block chain carries the payload.</summary>
    GifApplication,
    /// <summary>GIF of 256 x 256 frames repeated until their decoded pixels reach the payload (a few hundred bytes each).</summary>
    GifFrames,
    /// <summary>TIFF whose first directory has tags that all point at one shared value.</summary>
    TiffTagsAmplified,
}

/// <summary>
/// Small images carrying hostile metadata: compressed chunks that inflate far beyond the file, metadata spread over
/// many segments, tags that make a decoder materialise one value thousands of times, sizes declared beyond the file,
/// frames that repeat. Each is a valid 32 x 24 image (GifFrames: 256 x 256) apart from its payload, made in memory for
/// the tests and the fuzzer's seeds.
/// </summary>
public static class MetadataBombs
{
    /// <summary>
    /// Makes a file of <paramref name="kind"/> whose metadata expands to about <paramref name="payloadBytes"/> when a
    /// decoder reads it whole: inflated bytes for compressed chunks, carried bytes for segments and chains, the sum of
    /// every tag's value for the amplified kinds, decoded pixel bytes for <see cref="MetadataBombKind.GifFrames"/>.
    /// </summary>
    public static byte[] Create(MetadataBombKind kind, long payloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(payloadBytes, 1 << 16);
        return kind switch
        {
            MetadataBombKind.PngZtxt => Png(PngChunk("zTXt", [.. "Comment"u8, 0, 0, .. ZlibOfZeros(payloadBytes)])),
            MetadataBombKind.PngItxt => Png(PngChunk("iTXt", [.. "Comment"u8, 0, 1, 0, 0, 0, .. ZlibOfZeros(payloadBytes)])),
            MetadataBombKind.PngIccp => Png(PngChunk("iCCP", [.. "icc"u8, 0, 0, .. ZlibOfZeros(payloadBytes)])),
            MetadataBombKind.PngManyZtxt => Png(ManyZtxt(payloadBytes)),
            MetadataBombKind.PngExifAmplified => Png(PngChunk("eXIf", AmplifiedExif(payloadBytes, maxBytes: 1 << 20))),
            MetadataBombKind.JpegExifSegments => Jpeg(Segments(0xE1, "Exif\0\0"u8.ToArray(), Filler(payloadBytes, TiffHeader()))),
            MetadataBombKind.JpegXmpSegments => Jpeg(Segments(0xE1, "http://ns.adobe.com/xap/1.0/\0"u8.ToArray(), Filler(payloadBytes, "<x:xmpmeta "u8.ToArray()))),
            MetadataBombKind.JpegIccSegments => Jpeg(IccSegments(payloadBytes)),
            MetadataBombKind.JpegExifAmplified => Jpeg(Segments(0xE1, "Exif\0\0"u8.ToArray(), AmplifiedExif(payloadBytes, maxBytes: 4 << 20))),
            MetadataBombKind.WebpExif => Webp(0x08, [], WebpChunk("EXIF", Filler(payloadBytes, TiffHeader()))),
            MetadataBombKind.WebpXmp => Webp(0x04, [], WebpChunk("XMP ", Filler(payloadBytes, "<x:xmpmeta "u8.ToArray()))),
            MetadataBombKind.WebpIccp => Webp(0x20, WebpChunk("ICCP", Filler(payloadBytes, [])), []),
            MetadataBombKind.WebpDeclaredSize => Webp(0x08, [], [.. "EXIF"u8, .. LittleEndian32((uint)Math.Min(payloadBytes, uint.MaxValue - 1)), .. TiffHeader()]),
            MetadataBombKind.GifComment => Gif([0x21, 0xFE, .. SubBlocks(payloadBytes)]),
            MetadataBombKind.GifApplication => Gif([0x21, 0xFF, 11, .. "XMP DataXMP"u8, .. SubBlocks(payloadBytes)]),
            MetadataBombKind.GifFrames => GifFrames(payloadBytes),
            MetadataBombKind.TiffTagsAmplified => Tiff(payloadBytes),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
    }

    /// <summary>The file extension of <paramref name="kind"/>'s format, with its dot.</summary>
    public static string Extension(MetadataBombKind kind) => kind.ToString() switch
    {
        var name when name.StartsWith("Png", StringComparison.Ordinal) => ".png",
        var name when name.StartsWith("Jpeg", StringComparison.Ordinal) => ".jpg",
        var name when name.StartsWith("Webp", StringComparison.Ordinal) => ".webp",
        var name when name.StartsWith("Gif", StringComparison.Ordinal) => ".gif",
        _ => ".tif",
    };

    /// <summary>The width and height of the picture <paramref name="kind"/> carries.</summary>
    public static (int Width, int Height) Size(MetadataBombKind kind) => kind == MetadataBombKind.GifFrames ? (256, 256) : (32, 24);

    /// <summary>Whether <paramref name="kind"/> carries its metadata uncompressed, so that the file is as large as the payload.</summary>
    public static bool IsCarried(MetadataBombKind kind) => kind is MetadataBombKind.JpegExifSegments or MetadataBombKind.JpegXmpSegments
        or MetadataBombKind.JpegIccSegments or MetadataBombKind.WebpExif or MetadataBombKind.WebpXmp or MetadataBombKind.WebpIccp
        or MetadataBombKind.GifComment or MetadataBombKind.GifApplication;

    /// <summary>The small 32 x 24 RGB picture every kind carries: a gradient, so that a decoded result can be checked.</summary>
    public static Image<Rgba32> Picture()
    {
        var image = new Image<Rgba32>(32, 24);
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                image[x, y] = new Rgba32((byte)(8 * x), (byte)(10 * y), (byte)(4 * (x + y)), 255);
        return image;
    }

    /// <summary>
    /// A zlib stream of <paramref name="count"/> zero bytes, built in a few milliseconds whatever the count: once a
    /// deflater has seen 32 KiB of zeros, its output for a further block of zeros after a sync flush is the same every
    /// time, so blocks of 1 MiB, then of 64 KiB, are repeated; the remainder, under 64 KiB, is stored.
    /// </summary>
    public static byte[] ZlibOfZeros(long count)
    {
        var (headLarge, repeatLarge) = DeflatedZeros(1 << 20);
        var (headSmall, repeatSmall) = DeflatedZeros(1 << 16);
        var output = new MemoryStream();
        output.Write([0x78, 0xDA]);
        long large = count >> 20, small = (count & ((1 << 20) - 1)) >> 16;
        for (long i = 0; i < large; i++)
            output.Write(i == 0 ? headLarge : repeatLarge);
        for (long i = 0; i < small; i++)
            output.Write(i == 0 && large == 0 ? headSmall : repeatSmall);

        // The remainder as stored blocks (at most 65,535 bytes each), then the final empty block.
        var zeros = new byte[65535];
        for (int left = (int)(count & 0xFFFF); left > 0;)
        {
            int n = Math.Min(left, 65535);
            output.Write([0x00, (byte)n, (byte)(n >> 8), (byte)~n, (byte)(~n >> 8)]);
            output.Write(zeros.AsSpan(0, n));
            left -= n;
        }

        output.Write([0x03, 0x00]); // a final fixed-Huffman block holding only end-of-block
        uint a = 1, b = (uint)(count % 65521);
        output.Write([(byte)(b >> 8), (byte)b, (byte)(a >> 8), (byte)a]); // Adler-32 of zeros: a = 1, b = count mod 65521
        return output.ToArray();
    }

    /// <summary>Raw deflate output for <paramref name="block"/> zeros from a fresh deflater, and for each further block.</summary>
    private static (byte[] Head, byte[] Repeat) DeflatedZeros(int block)
    {
        var zeros = new byte[block];
        var sink = new MemoryStream();
        using var deflate = new DeflateStream(sink, CompressionLevel.SmallestSize, leaveOpen: true);
        deflate.Write(zeros);
        deflate.Flush();
        int first = (int)sink.Length;
        deflate.Write(zeros);
        deflate.Flush();
        byte[] all = sink.ToArray();
        return (all[..first], all[first..]);
    }

    /// <summary>The picture as an 8-bit RGB PNG with <paramref name="chunks"/> (from <see cref="PngChunk"/>) right after its header.</summary>
    public static byte[] Png(params byte[][] chunks)
    {
        using var picture = Picture();
        using var stream = new MemoryStream();
        picture.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
        byte[] plain = stream.ToArray();
        const int AfterHeader = 8 + 25; // the signature and IHDR
        return [.. plain.AsSpan(0, AfterHeader), .. chunks.SelectMany(c => c), .. plain.AsSpan(AfterHeader)];
    }

    /// <summary>A PNG chunk: length, type, data and CRC.</summary>
    public static byte[] PngChunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    private static byte[] ManyZtxt(long payloadBytes)
    {
        byte[] one = PngChunk("zTXt", [.. "Comment"u8, 0, 0, .. ZlibOfZeros(payloadBytes / 256)]);
        var all = new byte[256 * one.Length];
        for (int i = 0; i < 256; i++)
            one.CopyTo(all, i * one.Length);
        return all;
    }

    /// <summary>The picture as a JPEG (quality 90) with <paramref name="segments"/> right after its start-of-image marker.</summary>
    public static byte[] Jpeg(byte[] segments)
    {
        using var picture = Picture();
        using var stream = new MemoryStream();
        picture.SaveAsJpeg(stream, new JpegEncoder { Quality = 90 });
        byte[] plain = stream.ToArray();
        return [0xFF, 0xD8, .. segments, .. plain.AsSpan(2)];
    }

    /// <summary>Splits <paramref name="data"/> over marker segments, each starting with <paramref name="identifier"/>.</summary>
    private static byte[] Segments(byte marker, byte[] identifier, byte[] data)
    {
        int room = 65533 - identifier.Length;
        var output = new MemoryStream();
        for (int at = 0; at < data.Length; at += room)
        {
            int n = Math.Min(room, data.Length - at);
            int length = 2 + identifier.Length + n;
            output.Write([0xFF, marker, (byte)(length >> 8), (byte)length]);
            output.Write(identifier);
            output.Write(data, at, n);
        }

        return output.ToArray();
    }

    private static byte[] IccSegments(long payloadBytes)
    {
        const int Room = 65533 - 14;
        int count = (int)((payloadBytes + Room - 1) / Room);
        var output = new MemoryStream();
        var body = Filler(Room, []);
        for (int i = 0; i < count; i++)
        {
            const int Length = 2 + 14 + Room;
            output.Write([0xFF, 0xE2, Length >> 8, Length & 0xFF]);
            output.Write("ICC_PROFILE\0"u8);
            output.Write([(byte)Math.Min(i + 1, 255), (byte)Math.Min(count, 255)]);
            output.Write(body);
        }

        return output.ToArray();
    }

    /// <summary>
    /// The picture as a lossless WebP in the extended format: a VP8X chunk with <paramref name="flags"/> (0x20 ICC,
    /// 0x08 EXIF, 0x04 XMP), then <paramref name="beforeImage"/>, the image chunk, and <paramref name="afterImage"/>.
    /// </summary>
    public static byte[] Webp(byte flags, byte[] beforeImage, byte[] afterImage)
    {
        using var picture = Picture();
        using var stream = new MemoryStream();
        picture.SaveAsWebp(stream, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
        byte[] plain = stream.ToArray();
        byte[] image = plain[12..]; // the VP8L chunk
        byte[] vp8x = [.. "VP8X"u8, 10, 0, 0, 0, flags, 0, 0, 0, 31, 0, 0, 23, 0, 0];
        byte[] body = [.. "WEBP"u8, .. vp8x, .. beforeImage, .. image, .. afterImage];
        return [.. "RIFF"u8, .. LittleEndian32((uint)Math.Min(body.LongLength, uint.MaxValue)), .. body];
    }

    /// <summary>A WebP (RIFF) chunk: four-character code, little-endian size, data, padding to an even size.</summary>
    public static byte[] WebpChunk(string type, byte[] data)
        => [.. Encoding.ASCII.GetBytes(type), .. LittleEndian32((uint)data.Length), .. data, .. (data.Length % 2 == 1 ? new byte[1] : [])];

    private static byte[] Gif(byte[] extension)
    {
        using var picture = Picture();
        byte[] plain = GifBytes(picture);
        int after = GifHeaderLength(plain);
        return [.. plain.AsSpan(0, after), .. extension, .. plain.AsSpan(after)];
    }

    private static byte[] GifFrames(long payloadBytes)
    {
        using var frame = new Image<Rgba32>(256, 256, new Rgba32(90, 120, 200, 255));
        byte[] plain = GifBytes(frame);
        int after = GifHeaderLength(plain);
        byte[] rest = plain[after..^1]; // one frame: its extensions, descriptor and image data, without the trailer
        long frames = Math.Max(2, payloadBytes / (256 * 256 * 4));
        var output = new MemoryStream();
        output.Write(plain, 0, after);
        for (long i = 0; i < frames; i++)
            output.Write(rest);
        output.WriteByte(0x3B);
        return output.ToArray();
    }

    private static byte[] GifBytes(Image<Rgba32> image)
    {
        using var stream = new MemoryStream();
        image.SaveAsGif(stream, new GifEncoder());
        return stream.ToArray();
    }

    /// <summary>The header, logical screen descriptor and global colour table of a GIF: where extensions may go.</summary>
    private static int GifHeaderLength(byte[] gif)
    {
        int packed = gif[10];
        return 13 + ((packed & 0x80) != 0 ? 3 * (2 << (packed & 7)) : 0);
    }

    private static byte[] SubBlocks(long payloadBytes)
    {
        var output = new MemoryStream();
        var block = new byte[256];
        block[0] = 255;
        "payload "u8.CopyTo(block.AsSpan(1));
        for (long left = payloadBytes; left > 0; left -= 255)
            output.Write(block);
        output.WriteByte(0);
        return output.ToArray();
    }

    /// <summary>
    /// A TIFF-structured EXIF block (little-endian) whose first directory holds as many tags as fit in
    /// <paramref name="maxBytes"/>, every one an UNDEFINED array pointing at the same shared value.
    /// </summary>
    private static byte[] AmplifiedExif(long payloadBytes, int maxBytes)
    {
        int shared = (int)Math.Min(maxBytes / 2, Math.Max(1024, Math.Sqrt(payloadBytes * 12.0)));
        int tags = (int)Math.Clamp(payloadBytes / shared, 1, Math.Min(65535, (maxBytes - shared - 16) / 12));
        int ifd = 8, sharedAt = ifd + 2 + 12 * tags + 4;
        var exif = new byte[sharedAt + shared];
        "II*\0"u8.CopyTo(exif);
        BinaryPrimitives.WriteUInt32LittleEndian(exif.AsSpan(4), (uint)ifd);
        BinaryPrimitives.WriteUInt16LittleEndian(exif.AsSpan(ifd), (ushort)tags);
        for (int t = 0; t < tags; t++)
            WriteEntry(exif.AsSpan(ifd + 2 + 12 * t), (ushort)(0xC000 + t % 0x3FFF), 7, (uint)shared, (uint)sharedAt);
        return exif;
    }

    private static byte[] Tiff(long payloadBytes)
    {
        const int Width = 32, Height = 24, Fixed = 9;
        int shared = (int)Math.Max(1024, Math.Sqrt(payloadBytes * 12.0));
        int tags = (int)Math.Clamp(payloadBytes / shared, 1, 65535 - Fixed);
        int count = Fixed + tags;
        int ifd = 8, bitsAt = ifd + 2 + 12 * count + 4, pixelsAt = bitsAt + 6, sharedAt = pixelsAt + Width * Height * 3;
        var tiff = new byte[sharedAt + shared];
        "II*\0"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), (uint)ifd);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(ifd), (ushort)count);
        (ushort Tag, ushort Type, uint Count, uint Value)[] entries =
        [
            (256, 3, 1, Width), (257, 3, 1, Height), (258, 3, 3, (uint)bitsAt), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, (uint)pixelsAt), (277, 3, 1, 3), (278, 3, 1, Height), (279, 4, 1, Width * Height * 3),
        ];
        for (int e = 0; e < Fixed; e++)
            WriteEntry(tiff.AsSpan(ifd + 2 + 12 * e), entries[e].Tag, entries[e].Type, entries[e].Count, entries[e].Value);
        for (int t = 0; t < tags; t++)
            WriteEntry(tiff.AsSpan(ifd + 2 + 12 * (Fixed + t)), (ushort)(0xC000 + t), 7, (uint)shared, (uint)sharedAt);
        for (int i = 0; i < 3; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(bitsAt + 2 * i), 8);
        using var picture = Picture();
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                var p = picture[x, y];
                int at = pixelsAt + 3 * (y * Width + x);
                (tiff[at], tiff[at + 1], tiff[at + 2]) = (p.R, p.G, p.B);
            }

        return tiff;
    }

    private static void WriteEntry(Span<byte> at, ushort tag, ushort type, uint count, uint value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(at, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(at[2..], type);
        BinaryPrimitives.WriteUInt32LittleEndian(at[4..], count);
        if (type == 3 && count == 1)
            BinaryPrimitives.WriteUInt16LittleEndian(at[8..], (ushort)value);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(at[8..], value);
    }

    /// <summary>A little-endian EXIF block (TIFF structure) whose first directory holds only the orientation tag.</summary>
    public static byte[] ExifWithOrientation(ushort orientation)
    {
        var exif = new byte[8 + 2 + 12 + 4];
        "II*\0"u8.CopyTo(exif);
        BinaryPrimitives.WriteUInt32LittleEndian(exif.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(exif.AsSpan(8), 1);
        WriteEntry(exif.AsSpan(10), 0x0112, 3, 1, orientation);
        return exif;
    }

    /// <summary>A little-endian TIFF header with an empty first directory: the start of a valid EXIF block.</summary>
    private static byte[] TiffHeader() => [.. "II*\0"u8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static byte[] Filler(long length, byte[] start)
    {
        var data = new byte[length];
        start.CopyTo(data, 0);
        for (long i = start.Length; i < length; i++)
            data[i] = (byte)('a' + i % 26);
        return data;
    }

    private static byte[] LittleEndian32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }

        return ~crc;
    }
}
