namespace ImageFuzz;

/// <summary>
/// Writes a baseline JPEG with four components (CMYK) and an Adobe APP14 marker, the way Photoshop stores CMYK: inverted
/// samples (255 = no ink), colour transform 0. ImageSharp 2.1.13 cannot write one (asked for CMYK, it writes YCbCr), so
/// this tiny encoder makes the corpus file (tests) and a fuzzing seed: each 8x8 block is one flat colour, so only DC coefficients are coded
/// (quantisation 1, the standard DC Huffman table, an AC table holding only end-of-block).
/// </summary>
public static class CmykJpeg
{
    /// <summary>One row of 8x8 blocks; each block is a flat ink colour (C, M, Y, K in 0..255, 255 = full ink).</summary>
    public static byte[] Create(IReadOnlyList<(byte C, byte M, byte Y, byte K)> blocks)
    {
        int width = 8 * blocks.Count, height = 8;
        using var stream = new MemoryStream();
        void Marker(byte code, params byte[] payload)
        {
            stream.Write([0xFF, code, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2)]);
            stream.Write(payload);
        }

        stream.Write([0xFF, 0xD8]);
        Marker(0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]); // version 100, flags 0, transform 0 = CMYK as stored
        Marker(0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]);
        Marker(0xC0, [8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 4,
            1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);
        byte[] dcCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        byte[] acCounts = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Marker(0xC4, [0x00, .. dcCounts, .. Enumerable.Range(0, 12).Select(i => (byte)i), 0x10, .. acCounts, 0x00]);
        Marker(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);

        var dcCodes = CanonicalCodes(dcCounts);
        var bits = new BitWriter(stream);
        var previous = new int[4];
        foreach (var (c, m, y, k) in blocks)
        {
            byte[] inks = [c, m, y, k];
            for (int component = 0; component < 4; component++)
            {
                int sample = 255 - inks[component];          // Adobe CMYK is stored inverted
                int dc = 8 * (sample - 128);                   // DC of a flat block after the level shift
                int diff = dc - previous[component];
                previous[component] = dc;
                int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                bits.Write(dcCodes[category].Code, dcCodes[category].Length);
                if (category > 0)
                    bits.Write(diff > 0 ? diff : diff + (1 << category) - 1, category);
                bits.Write(0, 1);                              // end of block: the AC table's one code, "0"
            }
        }

        bits.Flush();
        stream.Write([0xFF, 0xD9]);
        return stream.ToArray();
    }

    private static (int Code, int Length)[] CanonicalCodes(byte[] counts)
    {
        var codes = new List<(int, int)>();
        int code = 0;
        for (int length = 1; length <= 16; length++)
        {
            for (int i = 0; i < counts[length - 1]; i++)
                codes.Add((code++, length));
            code <<= 1;
        }

        return [.. codes];
    }

    private sealed class BitWriter(Stream stream)
    {
        private int _buffer, _count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                _buffer = (_buffer << 1) | ((value >> i) & 1);
                if (++_count == 8)
                    Emit();
            }
        }

        public void Flush()
        {
            while (_count != 0)
                Write(1, 1);                                   // pad the last byte with ones
        }

        private void Emit()
        {
            stream.WriteByte((byte)_buffer);
            if (_buffer == 0xFF)
                stream.WriteByte(0);                           // byte stuffing
            _buffer = 0;
            _count = 0;
        }
    }
}
