using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests;

/// <summary>Reads NumPy .npy files holding little-endian float32 ('&lt;f4') arrays in C order.</summary>
internal static partial class Npy
{
    /// <summary>Loads the array as a float32 tensor of its shape.</summary>
    public static Tensor Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path} is not a .npy file.");

        int major = bytes[6];
        int headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        int headerStart = major == 1 ? 10 : 12;
        string header = Encoding.Latin1.GetString(bytes, headerStart, headerLength);

        string descr = Descr().Match(header).Groups[1].Value;
        if (descr != "<f4")
            throw new InvalidDataException($"{path}: dtype {descr}, expected <f4.");
        if (FortranOrder().Match(header).Groups[1].Value != "False")
            throw new InvalidDataException($"{path}: Fortran order is not supported.");
        long[] shape = Shape().Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();

        int dataStart = headerStart + headerLength;
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (bytes.Length - dataStart != count * 4)
            throw new InvalidDataException($"{path}: {bytes.Length - dataStart} data bytes for {count} float32 values.");

        var values = new float[count];
        Buffer.BlockCopy(bytes, dataStart, values, 0, (int)(count * 4)); // the test machines are little-endian
        return tensor(values, shape);
    }

    [GeneratedRegex(@"'descr':\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order':\s*(True|False)")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex Shape();
}
