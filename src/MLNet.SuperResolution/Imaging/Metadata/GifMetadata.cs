using System.Text;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>
/// GIF's metadata extensions before the second frame (GIF89a sections 24-26): comment extensions and application
/// extensions other than the looping ones (NETSCAPE2.0, ANIMEXTS1.0), such as XMP ("XMP DataXMP") and ICC
/// ("ICCRGBG1012"), each an item of the bytes its sub-block chain carries. The image is decoded from its first frame
/// only, so what comes after the second image descriptor is never read. The first frame's declared size is noted for
/// the pixel check (a 24 x 20 GIF whose frame claims 12114 x 43933 took 2 GB in LoadImages).
/// </summary>
internal static class GifMetadata
{
    public static ushort? Scan(FileBytes file, MetadataBudget budget)
    {
        int packed = file.ByteAt(10);
        if (packed < 0)
            return null;
        long at = 13 + ((packed & 0x80) != 0 ? 3L * (2 << (packed & 7)) : 0);
        int frames = 0;
        Span<byte> name = stackalloc byte[12];
        while (true)
        {
            int introducer = file.ByteAt(at++);
            if (introducer == 0x21)
            {
                int label = file.ByteAt(at++);
                long start = at;
                string? item = label switch
                {
                    0xFE => "GIF comment",
                    0xFF when file.ByteAt(at) == 11 && file.TryRead(at + 1, name[..11]) && !IsLooping(name[..11]) =>
                        $"GIF application extension '{Printable(name[..11])}'",
                    _ => null,
                };
                long carried = SkipSubBlocks(file, ref at);
                if (carried < 0)
                    return null;
                if (item is not null)
                    budget.Offer(item, start, carried);
            }
            else if (introducer == 0x2C)
            {
                if (++frames > 1)
                    return null;
                int local = file.ByteAt(at + 8);
                if (local < 0)
                    return null;
                // The frame's own size: decoders (SkiaSharp, ImageSharp) allocate for it even beyond the logical screen.
                budget.NoteFrame(file.ByteAt(at + 4) | file.ByteAt(at + 5) << 8, file.ByteAt(at + 6) | file.ByteAt(at + 7) << 8);
                at += 9 + ((local & 0x80) != 0 ? 3L * (2 << (local & 7)) : 0) + 1; // descriptor, local colour table, LZW code size
                if (SkipSubBlocks(file, ref at) < 0)
                    return null;
            }
            else
            {
                return null; // the trailer, or bytes the decoder stops at
            }
        }
    }

    /// <summary>Steps over a chain of sub-blocks and its terminator; returns the bytes they carry, or -1 when the file ends first.</summary>
    private static long SkipSubBlocks(FileBytes file, ref long at)
    {
        long carried = 0;
        while (true)
        {
            int size = file.ByteAt(at++);
            if (size < 0)
                return -1;
            if (size == 0)
                return carried;
            carried += size;
            at += size;
        }
    }

    private static bool IsLooping(ReadOnlySpan<byte> application)
        => application.SequenceEqual("NETSCAPE2.0"u8) || application.SequenceEqual("ANIMEXTS1.0"u8);

    private static string Printable(ReadOnlySpan<byte> text)
    {
        var result = new StringBuilder(text.Length);
        foreach (byte b in text)
            result.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return result.ToString();
    }
}
