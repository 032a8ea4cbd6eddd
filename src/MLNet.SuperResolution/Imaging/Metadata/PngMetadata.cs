using System.Buffers.Binary;
using System.Text;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>
/// PNG's metadata chunks (PNG specification, 3rd edition, sections 11.3.3-11.3.4): tEXt, zTXt, iTXt (compressed or
/// not), iCCP and eXIf, walked chunk by chunk up to IEND. Compressed chunks are measured by inflating them up to the
/// limit. A chunk whose length runs past the end of the file ends the walk (the decoder reads no more than is there).
/// </summary>
internal static class PngMetadata
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The first 80 bytes of a chunk are enough for its keyword (1-79 bytes), flags and language tags.</summary>
    private const int HeadLength = 80 + 4 + 80 + 80;

    public static ushort? Scan(FileBytes file, MetadataBudget budget)
    {
        ushort? orientation = null;
        Span<byte> header = stackalloc byte[8];
        var head = new byte[HeadLength];
        for (long at = 8; file.TryRead(at, header);)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(header);
            string type = Encoding.ASCII.GetString(header[4..]);
            long data = at + 8;
            if (length > file.Length - data)
                break;
            int headLength = (int)Math.Min(length, HeadLength);
            file.TryRead(data, head.AsSpan(0, headLength));
            var chunk = head.AsSpan(0, headLength);
            switch (type)
            {
                case "tEXt":
                    budget.Offer($"PNG tEXt text {Keyword(chunk)}", data, length);
                    break;
                case "zTXt":
                {
                    int zero = chunk.IndexOf((byte)0);
                    long start = zero < 0 ? length : zero + 2;
                    budget.Offer($"PNG zTXt text {Keyword(chunk)}", data, length, Inflated(file, data + start, length - start));
                    break;
                }

                case "iTXt":
                {
                    int zero = chunk.IndexOf((byte)0);
                    bool compressed = zero >= 0 && zero + 1 < chunk.Length && chunk[zero + 1] == 1;
                    long text = TextStart(chunk, zero);
                    budget.Offer($"PNG iTXt text {Keyword(chunk)}", data, length,
                        compressed ? Inflated(file, data + text, length - text) : null);
                    break;
                }

                case "iCCP":
                {
                    int zero = chunk.IndexOf((byte)0);
                    long start = zero < 0 ? length : zero + 2;
                    budget.Offer("PNG iCCP colour profile", data, length, Inflated(file, data + start, length - start));
                    break;
                }

                case "eXIf":
                {
                    ushort? found = null;
                    if (budget.Offer("PNG eXIf EXIF", data, length, MetadataScanner.ExifMeasure(new SliceBytes(file, data, length), o => found = o)))
                        orientation ??= found;
                    break;
                }

                case "IEND":
                    return orientation;
            }

            at = data + length + 4; // the data and its CRC
        }

        return orientation;
    }

    private static Func<long, long> Inflated(FileBytes file, long position, long length)
        => cap => length <= 0 ? 0 : MetadataScanner.InflatedSize(file.Slice(position, length), cap);

    /// <summary>Where an iTXt chunk's text starts: after the keyword, two flag bytes, and two zero-terminated tags.</summary>
    private static long TextStart(ReadOnlySpan<byte> chunk, int keywordEnd)
    {
        if (keywordEnd < 0)
            return chunk.Length;
        int at = keywordEnd + 3;
        for (int field = 0; field < 2; field++)
        {
            if (at >= chunk.Length)
                return chunk.Length;
            int zero = chunk[at..].IndexOf((byte)0);
            if (zero < 0)
                return chunk.Length; // a tag longer than the head: not a chunk a decoder reads
            at += zero + 1;
        }

        return at;
    }

    /// <summary>The chunk's keyword for messages (Latin-1, printable characters only, quoted).</summary>
    private static string Keyword(ReadOnlySpan<byte> chunk)
    {
        int zero = chunk.IndexOf((byte)0);
        var keyword = chunk[..(zero < 0 ? Math.Min(chunk.Length, 79) : Math.Min(zero, 79))];
        var text = new StringBuilder(keyword.Length);
        foreach (byte b in keyword)
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return $"'{text}'";
    }
}
