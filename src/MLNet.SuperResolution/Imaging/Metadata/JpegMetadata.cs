using System.Buffers.Binary;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>
/// JPEG's metadata segments up to the first scan (ITU T.81 B.1.1; EXIF 2.32 4.5.4 for APP1 "Exif"; XMP part 3 1.1.3
/// for APP1 XMP and its extension; ICC.1:2022 B.4 for APP2 "ICC_PROFILE"; APP13 "Photoshop 3.0" for IPTC; COM).
/// Decoders join an EXIF block, an XMP extension or an ICC profile split over several segments, so each kind is one
/// item, measured whole (EXIF with its tags' values).
/// </summary>
internal static class JpegMetadata
{
    public static ReadOnlySpan<byte> Signature => [0xFF, 0xD8, 0xFF];

    private static ReadOnlySpan<byte> Exif => "Exif\0\0"u8;
    private static ReadOnlySpan<byte> Xmp => "http://ns.adobe.com/xap/1.0/\0"u8;
    private static ReadOnlySpan<byte> XmpExtension => "http://ns.adobe.com/xmp/extension/\0"u8;
    private static ReadOnlySpan<byte> Icc => "ICC_PROFILE\0"u8;
    private static ReadOnlySpan<byte> Photoshop => "Photoshop 3.0\0"u8;

    public static ushort? Scan(FileBytes file, MetadataBudget budget)
    {
        Parts exif = new(), xmp = new(), xmpExtension = new(), icc = new(), iptc = new(), comments = new();
        Span<byte> head = stackalloc byte[40];
        Span<byte> lengthBytes = stackalloc byte[2];
        long at = 2;
        while (true)
        {
            // Fill bytes (0xFF) may precede a marker.
            int b = file.ByteAt(at);
            if (b != 0xFF)
                break;
            while (b == 0xFF)
                b = file.ByteAt(++at);
            if (b < 0)
                break;
            int marker = b;
            at++;
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
                continue; // markers without a length
            if (marker is 0xD9 or 0xDA)
                break; // end of image, start of scan: the metadata a decoder reads comes before
            if (!file.TryRead(at, lengthBytes))
                break;
            int length = BinaryPrimitives.ReadUInt16BigEndian(lengthBytes) - 2;
            long data = at + 2;
            if (length < 0 || length > file.Length - data)
                break;
            var start = head[..Math.Min(length, head.Length)];
            file.TryRead(data, start);
            if (marker == 0xE1 && start.StartsWith(Exif))
                exif.Add((data + Exif.Length, length - Exif.Length));
            else if (marker == 0xE1 && start.StartsWith(Xmp))
                xmp.Add((data + Xmp.Length, length - Xmp.Length));
            else if (marker == 0xE1 && start.StartsWith(XmpExtension))
                xmpExtension.Add((data + XmpExtension.Length, length - XmpExtension.Length));
            else if (marker == 0xE2 && start.StartsWith(Icc) && length >= Icc.Length + 2)
                icc.Add((data + Icc.Length + 2, length - Icc.Length - 2));
            else if (marker == 0xED && start.StartsWith(Photoshop))
                iptc.Add((data, length));
            else if (marker == 0xFE)
                comments.Add((data, length));
            at = data + length;
        }

        ushort? orientation = null;
        if (exif.Count > 0 && !exif.Overflowed)
        {
            var joined = new JoinedBytes(file, exif.List);
            ushort? found = null;
            if (budget.Offer(exif.Describe("EXIF", "APP1"), exif.First, joined.Length, MetadataScanner.ExifMeasure(joined, o => found = o)))
                orientation = found;
        }
        else
        {
            Offer(budget, "EXIF", "APP1", exif);
        }

        Offer(budget, "XMP", "APP1", xmp);
        Offer(budget, "extended XMP", "APP1", xmpExtension);
        Offer(budget, "ICC colour profile", "APP2", icc);
        Offer(budget, "IPTC", "APP13", iptc);
        Offer(budget, "comment", "COM", comments);
        return orientation;
    }

    private static void Offer(MetadataBudget budget, string what, string marker, Parts parts)
    {
        if (parts.Count > 0)
            budget.Offer(parts.Describe(what, marker), parts.First, parts.Bytes);
    }

    /// <summary>
    /// The segments of one kind: their places (the first <see cref="MaxListed"/>, enough for any real file: 4,096
    /// full segments are 256 MB), their count and their bytes, so that a file of millions of tiny segments costs no
    /// memory.
    /// </summary>
    private sealed class Parts
    {
        private const int MaxListed = 4096;

        public List<(long Position, long Length)> List { get; } = [];
        public int Count { get; private set; }
        public long Bytes { get; private set; }
        public long First => List[0].Position;
        public bool Overflowed => Count > MaxListed;

        public void Add((long Position, long Length) part)
        {
            if (List.Count < MaxListed)
                List.Add(part);
            Count++;
            Bytes += part.Length;
        }

        public string Describe(string what, string marker)
            => Count == 1 ? $"JPEG {what} ({marker})" : $"JPEG {what} ({Count:N0} {marker} segments)";
    }
}
