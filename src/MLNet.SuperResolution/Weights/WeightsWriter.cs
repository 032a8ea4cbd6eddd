using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>
/// Writes state_dicts for PyTorch with this library's description of the network beside them, so that a file saved
/// here opens here again without being told what it is: safetensors with the description in its
/// <c>__metadata__</c> (the format's place for it), and the zip of <c>torch.save</c> (written by TorchSharp.PyBridge)
/// with a <c>mlnet/metadata.json</c> entry, which <c>torch.load</c> ignores.
/// </summary>
internal static class WeightsWriter
{
    /// <summary>The zip entry (under the archive's folder) that holds the metadata of a .pth written here.</summary>
    public const string ZipMetadataEntry = "mlnet/metadata.json";

    /// <summary>Writes a .pth (zip) or, for a <c>.safetensors</c> path, safetensors; atomically.</summary>
    public static void Save(IReadOnlyDictionary<string, Tensor> stateDict, string path, IReadOnlyDictionary<string, string>? metadata)
    {
        bool safetensors = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        IO.AtomicFile.WriteByPath(path, temporary =>
        {
            using (var stream = File.Create(temporary))
            {
                if (safetensors)
                    WriteSafetensors(stream, stateDict, metadata);
                else
                    PyTorchPickler.PickleStateDict(stream, stateDict.ToDictionary(kv => kv.Key, kv => kv.Value));
            }

            if (!safetensors && metadata is { Count: > 0 })
                AddZipMetadata(temporary, metadata);
        });
    }

    private static void AddZipMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var pickle = zip.Entries.First(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        string folder = pickle.FullName[..^"data.pkl".Length];
        using var entry = zip.CreateEntry(folder + ZipMetadataEntry, CompressionLevel.NoCompression).Open();
        JsonSerializer.Serialize(entry, metadata);
    }

    /// <summary>
    /// safetensors (huggingface/safetensors' format description): an 8-byte little-endian header length, the JSON header
    /// (padded with spaces to a multiple of 8), then the tensors' little-endian bytes in header order.
    /// </summary>
    private static void WriteSafetensors(Stream stream, IReadOnlyDictionary<string, Tensor> stateDict, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
            header["__metadata__"] = metadata;
        var tensors = new List<Tensor>();
        long offset = 0;
        try
        {
            foreach (var (name, value) in stateDict.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var tensor = value.detach().cpu().contiguous();
                tensors.Add(tensor);
                long bytes = tensor.NumberOfElements * tensor.ElementSize;
                header[name] = new { dtype = DtypeName(tensor.dtype), shape = tensor.shape, data_offsets = new[] { offset, offset + bytes } };
                offset += bytes;
            }

            var json = JsonSerializer.SerializeToUtf8Bytes(header);
            int padded = (json.Length + 7) / 8 * 8;
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++)
                stream.WriteByte((byte)' ');
            foreach (var tensor in tensors)
                stream.Write(tensor.bytes);
        }
        finally
        {
            foreach (var tensor in tensors)
                tensor.Dispose();
        }
    }

    private static string DtypeName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors has no dtype for {type}."),
    };

    /// <summary>The metadata a network's file carries: architecture, scale, channels (Rgb, Y, Gray), options (JSON).</summary>
    public static Dictionary<string, string> Describe(SrArchitecture architecture, int scale, SrChannels channels, SrNetworkOptions options) => new()
    {
        ["mlnet.architecture"] = architecture.ToString(),
        ["mlnet.scale"] = scale.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["mlnet.channels"] = channels.ToString(),
        ["mlnet.options"] = Architectures.NetworkFactory.SerializeOptions(options),
    };
}
