using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>The element types a weights file may store (the dtypes of PyTorch's typed storages and of safetensors).</summary>
internal enum StoredDtype
{
    Float32,
    Float16,
    BFloat16,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>Sizes, names and conversions of <see cref="StoredDtype"/>.</summary>
internal static class StoredDtypes
{
    public static int Size(this StoredDtype dtype) => dtype switch
    {
        StoredDtype.Float64 or StoredDtype.Int64 => 8,
        StoredDtype.Float32 or StoredDtype.Int32 => 4,
        StoredDtype.Float16 or StoredDtype.BFloat16 or StoredDtype.Int16 => 2,
        _ => 1,
    };

    public static bool IsFloatingPoint(this StoredDtype dtype) => dtype is StoredDtype.Float32 or StoredDtype.Float16 or StoredDtype.BFloat16 or StoredDtype.Float64;

    /// <summary>PyTorch's name: float32, float16, bfloat16, ...</summary>
    public static string Name(this StoredDtype dtype) => dtype switch
    {
        StoredDtype.Float32 => "float32",
        StoredDtype.Float16 => "float16",
        StoredDtype.BFloat16 => "bfloat16",
        StoredDtype.Float64 => "float64",
        StoredDtype.Int64 => "int64",
        StoredDtype.Int32 => "int32",
        StoredDtype.Int16 => "int16",
        StoredDtype.Int8 => "int8",
        StoredDtype.UInt8 => "uint8",
        _ => "bool",
    };

    /// <summary>The dtype of a PyTorch typed storage class (torch.FloatStorage, ...), or null for one this reader does not know.</summary>
    public static StoredDtype? FromStorageClass(string name) => name switch
    {
        "FloatStorage" => StoredDtype.Float32,
        "HalfStorage" => StoredDtype.Float16,
        "BFloat16Storage" => StoredDtype.BFloat16,
        "DoubleStorage" => StoredDtype.Float64,
        "LongStorage" => StoredDtype.Int64,
        "IntStorage" => StoredDtype.Int32,
        "ShortStorage" => StoredDtype.Int16,
        "CharStorage" => StoredDtype.Int8,
        "ByteStorage" => StoredDtype.UInt8,
        "BoolStorage" => StoredDtype.Bool,
        _ => null,
    };

    /// <summary>The dtype of a safetensors dtype string (F32, F16, ...), or null.</summary>
    public static StoredDtype? FromSafetensors(string name) => name switch
    {
        "F32" => StoredDtype.Float32,
        "F16" => StoredDtype.Float16,
        "BF16" => StoredDtype.BFloat16,
        "F64" => StoredDtype.Float64,
        "I64" => StoredDtype.Int64,
        "I32" => StoredDtype.Int32,
        "I16" => StoredDtype.Int16,
        "I8" => StoredDtype.Int8,
        "U8" => StoredDtype.UInt8,
        "BOOL" => StoredDtype.Bool,
        _ => null,
    };
}

/// <summary>
/// Where a storage's bytes are: an entry of a torch zip, a record of a legacy torch file, or the data section of a
/// safetensors file. <see cref="Numel"/> elements of <see cref="Dtype"/> were checked to fit in the bytes the file
/// holds before this was made.
/// </summary>
internal sealed record StorageRef(string Key, StoredDtype Dtype, long Numel, long FilePosition, string? ZipEntry);

/// <summary>
/// One tensor of a weights file as declared: its storage, offset, shape and strides, all checked against the storage
/// (every element it addresses lies inside it) before anything is allocated. <see cref="Read"/> copies its elements
/// out of the file in managed code, so a crafted layout never reaches libtorch.
/// </summary>
internal sealed record StoredTensor(StorageRef Storage, long Offset, long[] Shape, long[] Stride)
{
    /// <summary>The most elements one tensor may have: 2^34 (64 GB of float32).</summary>
    public const long MaxElements = 1L << 34;

    public StoredDtype Dtype => Storage.Dtype;

    /// <summary>The number of elements (checked against <see cref="MaxElements"/> at construction by <see cref="Create"/>).</summary>
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as PyTorch prints it: [64, 3, 3, 3].</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>The number of elements of <paramref name="shape"/>, or null when a size is negative or the count exceeds <see cref="MaxElements"/>.</summary>
    public static long? CountElements(long[] shape)
    {
        long numel = 1;
        foreach (long size in shape)
        {
            if (size < 0 || (size > 0 && numel > MaxElements / size))
                return null;
            numel *= size;
        }

        return numel;
    }

    /// <summary>Makes a tensor reference after checking every number of it; throws <see cref="InvalidDataException"/> saying what is wrong.</summary>
    public static StoredTensor Create(StorageRef storage, long offset, long[] shape, long[]? stride)
    {
        if (shape.Length > 16)
            throw new InvalidDataException($"a tensor of storage '{storage.Key}' has {shape.Length} dimensions");
        long numel = 1;
        foreach (long size in shape)
        {
            if (size < 0)
                throw new InvalidDataException($"a tensor of storage '{storage.Key}' has a negative size in its shape [{string.Join(", ", shape)}]");
            if (size > 0 && numel > MaxElements / size)
                throw new InvalidDataException(
                    $"a tensor of storage '{storage.Key}' declares the shape [{string.Join(", ", shape)}], more than {MaxElements:N0} elements");
            numel *= size;
        }

        stride ??= ContiguousStride(shape);
        if (stride.Length != shape.Length)
            throw new InvalidDataException($"a tensor of storage '{storage.Key}' has {shape.Length} sizes but {stride.Length} strides");
        if (offset < 0 || stride.Any(s => s < 0))
            throw new InvalidDataException($"a tensor of storage '{storage.Key}' has a negative offset or stride");
        if (numel > 0)
        {
            // The last element it addresses must lie inside the storage (overflow-checked: each term is below the storage size).
            long last = offset;
            for (int d = 0; d < shape.Length; d++)
            {
                if (shape[d] > 1 && stride[d] > 0 && (shape[d] - 1) > (storage.Numel - last) / stride[d])
                    throw Outside();
                last += (shape[d] - 1) * stride[d];
            }

            if (last >= storage.Numel)
                throw Outside();
        }

        return new StoredTensor(storage, offset, shape, stride);

        InvalidDataException Outside() => new(
            $"a tensor of shape [{string.Join(", ", shape)}] at offset {offset} reads past the end of its storage '{storage.Key}' " +
            $"({storage.Numel:N0} {storage.Dtype.Name()} elements): the file is cut off or crafted");
    }

    private static long[] ContiguousStride(long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            stride[d] = step;
            step *= Math.Max(1, shape[d]);
        }

        return stride;
    }

    /// <summary>
    /// Reads the elements (the storage bytes from <paramref name="storageBytes"/>, which holds the whole storage) into a
    /// new CPU tensor: floating-point types as float32 (or <paramref name="floatType"/>), integers as int64, bool as bool.
    /// </summary>
    public Tensor Read(ReadOnlySpan<byte> storageBytes, ScalarType floatType = ScalarType.Float32)
    {
        long numel = Numel;
        var shape = Shape;
        if (Dtype.IsFloatingPoint())
        {
            var values = new float[numel];
            Gather(storageBytes, values, ReadFloat);
            var result = torch.tensor(values, shape);
            return floatType == ScalarType.Float32 ? result : Convert(result, floatType);
        }

        if (Dtype == StoredDtype.Bool)
        {
            var flags = new bool[numel];
            Gather(storageBytes, flags, (b, _) => b[0] != 0);
            return torch.tensor(flags, shape);
        }

        var integers = new long[numel];
        Gather(storageBytes, integers, ReadInteger);
        return torch.tensor(integers, shape);
    }

    private static Tensor Convert(Tensor tensor, ScalarType type)
    {
        using (tensor)
            return tensor.to_type(type);
    }

    private float ReadFloat(ReadOnlySpan<byte> b, int _) => Dtype switch
    {
        StoredDtype.Float32 => BinaryPrimitives.ReadSingleLittleEndian(b),
        StoredDtype.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
        StoredDtype.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
        _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
    };

    private long ReadInteger(ReadOnlySpan<byte> b, int _) => Dtype switch
    {
        StoredDtype.Int64 => BinaryPrimitives.ReadInt64LittleEndian(b),
        StoredDtype.Int32 => BinaryPrimitives.ReadInt32LittleEndian(b),
        StoredDtype.Int16 => BinaryPrimitives.ReadInt16LittleEndian(b),
        StoredDtype.Int8 => (sbyte)b[0],
        _ => b[0],
    };

    private delegate T ElementReader<out T>(ReadOnlySpan<byte> bytes, int unused);

    /// <summary>Copies the addressed elements in row-major order of <see cref="Shape"/> into <paramref name="destination"/>.</summary>
    private void Gather<T>(ReadOnlySpan<byte> storage, T[] destination, ElementReader<T> read)
    {
        int size = Dtype.Size();
        int rank = Shape.Length;
        if (destination.Length == 0)
            return;
        var index = new long[rank];
        long position = Offset;
        for (long i = 0; i < destination.LongLength; i++)
        {
            destination[i] = read(storage.Slice((int)(position * size), size), 0);
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d]++;
                position += Stride[d];
                if (index[d] < Shape[d])
                    break;
                position -= Stride[d] * Shape[d];
                index[d] = 0;
            }
        }
    }
}
