// Byte-level mutations shared by the fuzzers (compiled into each example that links this file; see its .csproj).

/// <summary>
/// Byte-level mutations of a valid file (bit flips, overwrites, truncation, insertions, duplicated runs, extreme
/// integers): what any file reader must survive whatever the format.
/// </summary>
internal static class ByteMutator
{
    private static readonly uint[] ExtremeIntegers = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000];

    /// <summary>One to four random mutations of <paramref name="seed"/>.</summary>
    public static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        int count = random.Next(1, 5);
        for (int m = 0; m < count && bytes.Count > 0; m++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0: // flip a bit
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // overwrite a short run with random bytes
                    for (int i = at; i < Math.Min(bytes.Count, at + random.Next(1, 16)); i++)
                        bytes[i] = (byte)random.Next(256);
                    break;
                case 2: // truncate
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3: // insert random bytes
                    bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4: // duplicate a run
                    int length = Math.Min(bytes.Count - at, random.Next(1, 256));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                default: // an extreme big-endian integer (image dimensions, chunk lengths, header sizes)
                    uint value = ExtremeIntegers[random.Next(ExtremeIntegers.Length)];
                    for (int i = 0; i < 4 && at + i < bytes.Count; i++)
                        bytes[at + i] = (byte)(value >> (24 - 8 * i));
                    break;
            }
        }

        return bytes.ToArray();
    }
}
