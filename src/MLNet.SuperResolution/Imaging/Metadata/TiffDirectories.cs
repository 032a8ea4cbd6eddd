using System.Buffers.Binary;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>What walking the directories of a TIFF structure (a TIFF file, or an EXIF block) found.</summary>
/// <param name="ReadBytes">
/// What a decoder that reads every tag would hold: each value stored outside its entry counted every time an entry
/// points at it (so shared values count many times), plus <see cref="TiffDirectories.BytesPerEntry"/> per entry; stops
/// counting a little past the cap it was given.
/// </param>
/// <param name="Orientation">The first directory's orientation tag (274), 1-8, when present.</param>
/// <param name="Valid">Whether the header is a TIFF header (classic or BigTIFF, either byte order).</param>
internal readonly record struct TiffWalk(long ReadBytes, ushort? Orientation, bool Valid);

/// <summary>
/// Walks TIFF directories (TIFF 6.0 and BigTIFF; the layout EXIF uses too): the chain from the header, and the EXIF,
/// GPS, interoperability and SubIFDs directories the tags point to, each directory once. Reads only entry headers
/// (never a value), so the walk costs at most one read per entry. How much a decoder would allocate follows ImageSharp
/// 2.1.13's readers (src/ImageSharp/Metadata/Profiles/Exif/ExifReader.cs, Formats/Tiff/Ifd/DirectoryReader.cs):
/// every value outside its entry whose bytes lie inside the data is read into an array of its own.
/// </summary>
internal static class TiffDirectories
{
    /// <summary>What one entry costs a decoder that makes an object of it (an estimate, on the high side).</summary>
    public const int BytesPerEntry = 64;

    private const ushort OrientationTag = 0x0112, SubIfdsTag = 0x014A, ExifIfdTag = 0x8769, GpsIfdTag = 0x8825, InteropIfdTag = 0xA005;

    /// <summary>Whether <paramref name="header"/> starts a TIFF structure.</summary>
    public static bool IsTiffHeader(ReadOnlySpan<byte> header)
        => header.Length >= 4 && (header[..4].SequenceEqual("II*\0"u8) || header[..4].SequenceEqual("MM\0*"u8)
                                  || header[..4].SequenceEqual("II+\0"u8) || header[..4].SequenceEqual("MM\0+"u8));

    /// <summary>Walks <paramref name="data"/> from its TIFF header; stops counting once the total passes <paramref name="cap"/>.</summary>
    /// <param name="data">The TIFF structure: a whole TIFF file, or an EXIF block after its "Exif\0\0" identifier.</param>
    /// <param name="cap">Counting stops once <see cref="TiffWalk.ReadBytes"/> is above this.</param>
    /// <param name="maxDirectories">Most directories visited (ImageSharp reads at most 65,534 in a TIFF's chain).</param>
    public static TiffWalk Walk(IByteSource data, long cap, int maxDirectories)
    {
        Span<byte> header = stackalloc byte[16];
        if (!data.TryRead(0, header[..8]) || !IsTiffHeader(header))
            return new TiffWalk(0, null, false);
        bool bigEndian = header[0] == (byte)'M';
        bool big = Read16(header[2..], bigEndian) == 43;
        ulong first;
        if (big)
        {
            if (Read16(header[4..], bigEndian) != 8 || !data.TryRead(8, header[8..16]))
                return new TiffWalk(0, null, false);
            first = Read64(header[8..], bigEndian);
        }
        else
        {
            first = Read32(header[4..], bigEndian);
        }

        var pending = new Queue<ulong>();
        var reader = new Reader(data, bigEndian, big, cap, maxDirectories);
        var visited = new HashSet<ulong>();
        pending.Enqueue(first);
        ushort? orientation = null;
        bool isFirst = true;
        while (pending.Count > 0 && visited.Count < maxDirectories && reader.Total <= cap)
        {
            ulong at = pending.Dequeue();
            if (at == 0 || at >= (ulong)data.Length || !visited.Add(at))
                continue;
            var found = reader.Directory((long)at, pending, isFirst);
            orientation ??= found;
            isFirst = false;
        }

        return new TiffWalk(reader.Total, orientation, true);
    }

    private sealed class Reader(IByteSource data, bool bigEndian, bool big, long cap, int maxDirectories)
    {
        public long Total { get; private set; }

        /// <summary>Counts one directory; queues the directories it points to; returns its orientation when <paramref name="first"/>.</summary>
        public ushort? Directory(long at, Queue<ulong> pending, bool first)
        {
            int entrySize = big ? 20 : 12, countSize = big ? 8 : 2, offsetSize = big ? 8 : 4;
            Span<byte> entry = stackalloc byte[20];
            if (!data.TryRead(at, entry[..countSize]))
                return null;
            ulong count = big ? Read64(entry, bigEndian) : Read16(entry, bigEndian);
            long entries = (long)Math.Min(count, (ulong)Math.Max(0, (data.Length - at - countSize) / entrySize));
            ushort? orientation = null;
            for (long i = 0; i < entries && Total <= cap; i++)
            {
                long position = at + countSize + i * entrySize;
                if (!data.TryRead(position, entry[..entrySize]))
                    break;
                ushort tag = Read16(entry, bigEndian), type = Read16(entry[2..], bigEndian);
                ulong values = big ? Read64(entry[4..], bigEndian) : Read32(entry[4..], bigEndian);
                var field = entry.Slice(big ? 12 : 8, offsetSize);
                Total += BytesPerEntry;
                int size = TypeSize(type);
                if (size == 0)
                    continue;
                ulong bytes = values > ulong.MaxValue / 8 ? ulong.MaxValue : values * (ulong)size;
                ulong valueAt = bytes <= (ulong)offsetSize ? (ulong)(position + (big ? 12 : 8)) : big ? Read64(field, bigEndian) : Read32(field, bigEndian);
                bool inside = bytes <= (ulong)data.Length && valueAt <= (ulong)data.Length - bytes;
                if (bytes > (ulong)offsetSize && inside)
                    Total += (long)bytes;
                if (first && tag == OrientationTag && type == 3 && values >= 1)
                    orientation = Read16(field, bigEndian);
                if (inside && tag is ExifIfdTag or GpsIfdTag or InteropIfdTag or SubIfdsTag && size is 4 or 8)
                    QueuePointers(valueAt, Math.Min(values, 256), size, pending);
            }

            if (pending.Count < maxDirectories && data.TryRead(at + countSize + entries * entrySize, entry[..offsetSize]))
                pending.Enqueue(big ? Read64(entry, bigEndian) : Read32(entry, bigEndian));
            return orientation;
        }

        private void QueuePointers(ulong at, ulong count, int size, Queue<ulong> pending)
        {
            Span<byte> pointer = stackalloc byte[8];
            for (ulong k = 0; k < count && pending.Count < maxDirectories; k++)
            {
                if (!data.TryRead((long)(at + k * (ulong)size), pointer[..size]))
                    return;
                pending.Enqueue(size == 8 ? Read64(pointer, bigEndian) : Read32(pointer, bigEndian));
            }
        }
    }

    /// <summary>Bytes per value of a TIFF field type; 0 for types a decoder does not read.</summary>
    private static int TypeSize(ushort type) => type switch
    {
        1 or 2 or 6 or 7 => 1,
        3 or 8 => 2,
        4 or 9 or 11 or 13 => 4,
        5 or 10 or 12 or 16 or 17 or 18 => 8,
        _ => 0,
    };

    private static ushort Read16(ReadOnlySpan<byte> b, bool bigEndian)
        => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private static uint Read32(ReadOnlySpan<byte> b, bool bigEndian)
        => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private static ulong Read64(ReadOnlySpan<byte> b, bool bigEndian)
        => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);
}
