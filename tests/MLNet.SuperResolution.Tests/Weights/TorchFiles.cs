using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// Writes PyTorch weight files byte by byte, the way torch.save lays them out (torch/serialization.py, protocol 2
/// pickles as pickletools documents them), so that tests can make valid files, legacy files, and files crafted to
/// attack a reader (globals that run commands, shapes beyond their storage) without Python.
/// </summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream _bytes = new();

    public PickleWriter() => Op(0x80, 2); // PROTO 2

    public byte[] Finish()
    {
        Op((byte)'.');
        return _bytes.ToArray();
    }

    public PickleWriter Op(params byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public PickleWriter Mark() => Op((byte)'(');
    public PickleWriter EmptyDict() => Op((byte)'}');
    public PickleWriter EmptyTuple() => Op((byte)')');
    public PickleWriter Tuple() => Op((byte)'t');
    public PickleWriter SetItems() => Op((byte)'u');
    public PickleWriter Reduce() => Op((byte)'R');
    public PickleWriter False() => Op(0x89);
    public PickleWriter None() => Op((byte)'N');
    public PickleWriter List() => Op((byte)'l');

    public PickleWriter Global(string module, string name) => Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleWriter String(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        Op((byte)'X');
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        return Op(length.ToArray()).Op(utf8);
    }

    public PickleWriter Int(long value)
    {
        if (value is >= 0 and < 256)
            return Op((byte)'K', (byte)value);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Op(0x8A, 8).Op(bytes.ToArray()); // LONG1 with 8 bytes
    }

    public PickleWriter Ints(IEnumerable<long> values)
    {
        Mark();
        foreach (long v in values)
            Int(v);
        return Tuple();
    }

    /// <summary>The persistent id of a storage: ('storage', torch.&lt;type&gt;, key, 'cpu', numel[, None]) then BINPERSID.</summary>
    public PickleWriter Storage(string type, string key, long numel, bool legacy)
    {
        Mark().String("storage").Global("torch", type).String(key).String("cpu").Int(numel);
        if (legacy)
            None();
        return Tuple().Op((byte)'Q');
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()).</summary>
    public PickleWriter Tensor(string type, string key, long numel, long offset, long[] shape, long[] stride, bool legacy = false)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Storage(type, key, numel, legacy).Int(offset).Ints(shape).Ints(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }
}

/// <summary>One tensor to write: its key, storage type and key, the storage's elements as raw bytes, and its view.</summary>
internal sealed record FileTensor(string Key, string StorageType, string StorageKey, byte[] StorageBytes, long Numel, long Offset, long[] Shape, long[] Stride);

internal static class TorchFiles
{
    /// <summary>The strides of a contiguous (row-major) tensor of <paramref name="shape"/>.</summary>
    public static long[] Contiguous(long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            stride[d] = step;
            step *= shape[d];
        }

        return stride;
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    public static byte[] Halves(params float[] values)
    {
        var bytes = new byte[2 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)values[i]);
        return bytes;
    }

    public static byte[] BFloat16s(params float[] values)
    {
        var bytes = new byte[2 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)(BitConverter.SingleToInt32Bits(values[i]) >> 16));
        return bytes;
    }

    /// <summary>A dict of tensors, optionally under wrapper keys (outermost first), keys prefixed.</summary>
    public static byte[] StateDictPickle(IReadOnlyList<FileTensor> tensors, bool legacy, string prefix = "", params string[] wrappers)
    {
        var pickle = new PickleWriter();
        foreach (string wrapper in wrappers)
            pickle.EmptyDict().Mark().String(wrapper);
        pickle.Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (var t in tensors)
            pickle.String(prefix + t.Key).Tensor(t.StorageType, t.StorageKey, t.Numel, t.Offset, t.Shape, t.Stride, legacy);
        pickle.SetItems();
        foreach (var _ in wrappers)
            pickle.SetItems();
        return pickle.Finish();
    }

    /// <summary>A torch zip: archive/data.pkl, archive/data/KEY per storage, archive/version, archive/byteorder.</summary>
    public static byte[] Zip(byte[] pickle, IEnumerable<(string Key, byte[] Bytes)> storages, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] content)
            {
                using var entry = zip.CreateEntry("archive/" + name, level).Open();
                entry.Write(content);
            }

            Add("data.pkl", pickle);
            Add("byteorder", "little"u8.ToArray());
            foreach (var (key, bytes) in storages.DistinctBy(s => s.Key))
                Add("data/" + key, bytes);
            Add("version", "3\n"u8.ToArray());
        }

        return stream.ToArray();
    }

    public static byte[] ZipStateDict(IReadOnlyList<FileTensor> tensors, string prefix = "", params string[] wrappers)
        => Zip(StateDictPickle(tensors, legacy: false, prefix, wrappers), tensors.Select(t => (t.StorageKey, t.StorageBytes)));

    /// <summary>The legacy format: magic, version, sys info, the object, the storage keys, then each storage's count and bytes.</summary>
    public static byte[] Legacy(byte[] objectPickle, IReadOnlyList<(string Key, long Numel, byte[] Bytes)> storages)
    {
        using var stream = new MemoryStream();
        // The magic number 0x1950a86a20f9469cfc6c as a 10-byte LONG1.
        stream.Write(new PickleWriter().Op(0x8A, 10, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19).Finish());
        stream.Write(new PickleWriter().Op((byte)'M', 0xE9, 0x03).Finish()); // 1001
        stream.Write(new PickleWriter().EmptyDict().Mark().String("protocol_version").Op((byte)'M', 0xE9, 0x03)
            .String("little_endian").Op(0x88).SetItems().Finish());
        stream.Write(objectPickle);
        var keys = new PickleWriter().Mark();
        foreach (var s in storages)
            keys.String(s.Key);
        stream.Write(keys.List().Finish());
        Span<byte> count = stackalloc byte[8];
        foreach (var s in storages)
        {
            BinaryPrimitives.WriteInt64LittleEndian(count, s.Numel);
            stream.Write(count);
            stream.Write(s.Bytes);
        }

        return stream.ToArray();
    }

    public static byte[] LegacyStateDict(IReadOnlyList<FileTensor> tensors, string prefix = "", params string[] wrappers)
        => Legacy(StateDictPickle(tensors, legacy: true, prefix, wrappers),
            tensors.DistinctBy(t => t.StorageKey).Select(t => (t.StorageKey, t.Numel, t.StorageBytes)).ToList());

    /// <summary>A safetensors file from (name, dtype, shape, bytes), offsets in order.</summary>
    public static byte[] Safetensors(IReadOnlyList<(string Name, string Dtype, long[] Shape, byte[] Bytes)> tensors, string? headerOverride = null)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, dtype, shape, bytes) in tensors)
        {
            if (header.Length > 1)
                header.Append(',');
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + bytes.Length}]}}");
            offset += bytes.Length;
        }

        header.Append('}');
        var json = Encoding.UTF8.GetBytes(headerOverride ?? header.ToString());
        using var stream = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        stream.Write(length);
        stream.Write(json);
        foreach (var t in tensors)
            stream.Write(t.Bytes);
        return stream.ToArray();
    }
}
