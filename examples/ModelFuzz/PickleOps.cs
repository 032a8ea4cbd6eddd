using System.Buffers.Binary;
using System.Text;

namespace ModelFuzz;

/// <summary>One pickle opcode with its argument bytes: <c>Start</c> and <c>Length</c> in the stream.</summary>
public readonly record struct PickleOp(byte Code, int Start, int Length);

/// <summary>
/// Splits a pickle stream into its opcodes (the fuzzer's unit of structure-aware mutation) and writes the opcodes a
/// mutation inserts. Knows every opcode of protocols 0-5 by its argument layout, not its meaning.
/// </summary>
public static class PickleOps
{
    /// <summary>The opcodes of <paramref name="pickle"/> up to and including STOP; null when it does not parse.</summary>
    public static List<PickleOp>? Parse(byte[] pickle, int start = 0)
    {
        var ops = new List<PickleOp>();
        int at = start;
        while (at < pickle.Length)
        {
            byte code = pickle[at];
            int length = ArgumentLength(pickle, at);
            if (length < 0 || at + 1 + length > pickle.Length)
                return null;
            ops.Add(new PickleOp(code, at, 1 + length));
            at += 1 + length;
            if (code == (byte)'.')
                return ops;
        }

        return null;
    }

    /// <summary>Bytes after the opcode at <paramref name="at"/> that belong to it; -1 for an unknown opcode or a cut-off argument.</summary>
    private static int ArgumentLength(byte[] p, int at)
    {
        int rest = p.Length - at - 1;
        int Prefixed(int size)
        {
            if (rest < size)
                return -1;
            long n = size switch
            {
                1 => p[at + 1],
                4 => BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(at + 1)),
                _ => (long)BinaryPrimitives.ReadUInt64LittleEndian(p.AsSpan(at + 1)),
            };
            return n > rest - size ? -1 : size + (int)n;
        }

        int Lines(int count)
        {
            int i = at + 1;
            for (int line = 0; line < count; line++)
            {
                int end = Array.IndexOf(p, (byte)'\n', i);
                if (end < 0)
                    return -1;
                i = end + 1;
            }

            return i - at - 1;
        }

        return p[at] switch
        {
            (byte)'(' or (byte)')' or (byte)'}' or (byte)']' or (byte)'R' or (byte)'b' or (byte)'s' or (byte)'u' or (byte)'a'
                or (byte)'e' or (byte)'t' or (byte)'N' or (byte)'.' or (byte)'Q' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'l'
                or (byte)'d' or (byte)'o' or 0x81 or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91 or 0x92 or 0x93
                or 0x94 or 0x97 or 0x98 => 0,
            (byte)'K' or (byte)'q' or (byte)'h' or 0x80 or 0x82 => 1,
            (byte)'M' or 0x83 => 2,
            (byte)'J' or (byte)'r' or (byte)'j' or 0x84 => 4,
            (byte)'G' or 0x95 => 8,
            (byte)'U' or 0x8c or (byte)'C' or 0x8a => Prefixed(1),
            (byte)'X' or (byte)'B' or (byte)'T' or 0x8b => Prefixed(4),
            0x8d or 0x8e or 0x96 => Prefixed(8),
            (byte)'c' or (byte)'i' => Lines(2),
            (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'P' or (byte)'g' or (byte)'p' => Lines(1),
            _ => -1,
        };
    }

    /// <summary>GLOBAL module name.</summary>
    public static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");

    /// <summary>BINUNICODE text.</summary>
    public static byte[] Unicode(string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var op = new byte[5 + utf8.Length];
        op[0] = (byte)'X';
        BinaryPrimitives.WriteUInt32LittleEndian(op.AsSpan(1), (uint)utf8.Length);
        utf8.CopyTo(op, 5);
        return op;
    }

    /// <summary>An integer: BININT for 32-bit values, LONG1 (8 bytes, little-endian two's complement) otherwise.</summary>
    public static byte[] Integer(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            var op = new byte[5];
            op[0] = (byte)'J';
            BinaryPrimitives.WriteInt32LittleEndian(op.AsSpan(1), (int)value);
            return op;
        }

        var wide = new byte[10];
        wide[0] = 0x8a;
        wide[1] = 8;
        BinaryPrimitives.WriteInt64LittleEndian(wide.AsSpan(2), value);
        return wide;
    }

    /// <summary>Whether the opcode pushes an integer (BININT1, BININT2, BININT, LONG1, INT).</summary>
    public static bool IsInteger(byte code) => code is (byte)'K' or (byte)'M' or (byte)'J' or 0x8a or (byte)'I';

    /// <summary>Whether the opcode pushes a string (BINUNICODE, SHORT_BINUNICODE, BINSTRING, SHORT_BINSTRING, UNICODE).</summary>
    public static bool IsString(byte code) => code is (byte)'X' or 0x8c or (byte)'T' or (byte)'U' or (byte)'V';
}
