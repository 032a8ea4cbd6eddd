using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Text.Json;
using MLNet.SuperResolution.Weights.Pickle;

namespace MLNet.SuperResolution.Weights;

/// <summary>The container a weights file was read from.</summary>
internal enum WeightsFormat
{
    /// <summary>The zip that <c>torch.save</c> writes since PyTorch 1.6 (<c>.pth</c>, <c>.pt</c>, <c>.ckpt</c>).</summary>
    TorchZip,

    /// <summary>The sequence of pickles and raw storages of <c>torch.save(..., _use_new_zipfile_serialization=False)</c>.</summary>
    TorchLegacy,

    /// <summary>safetensors: a JSON header and raw little-endian tensors.</summary>
    Safetensors,
}

/// <summary>What a container reader found: the pickled (or JSON-described) object, and where its storages' bytes are.</summary>
/// <param name="Format">The container.</param>
/// <param name="Root">The unpickled object (a dict for safetensors: name -> tensor).</param>
/// <param name="Metadata">String metadata the file carries: safetensors' <c>__metadata__</c>, or a zip's
/// <c>mlnet/metadata.json</c> (written by this library, <see cref="WeightsWriter"/>); empty when none.</param>
internal sealed record ContainerContents(WeightsFormat Format, object Root, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The three containers of PyTorch weights, read without trusting a number in them: every length, count, offset and
/// shape is checked against the bytes the file holds before anything is allocated, and no tensor data is read here
/// (<see cref="StoredTensor.Read"/> does it later, for the tensors that are used).
/// </summary>
internal static class WeightsFormats
{
    /// <summary>The largest pickle (state_dict structure, not tensor data) read: 64 MiB, a thousand times a large model's.</summary>
    public const long MaxPickleBytes = 64L << 20;

    /// <summary>The largest safetensors JSON header read: 64 MiB.</summary>
    public const long MaxSafetensorsHeaderBytes = 64L << 20;

    /// <summary>The largest zip central directory read: 16 MiB, about 300,000 entries (a model has a few hundred).</summary>
    public const long MaxZipDirectoryBytes = 16L << 20;

    /// <summary>The pickled magic number that starts a legacy torch file (torch/serialization.py, MAGIC_NUMBER).</summary>
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Tells the container from the first bytes and reads its structure.</summary>
    /// <exception cref="InvalidDataException">Not a weights file, or malformed: the message says what (without the file name).</exception>
    public static ContainerContents Read(Stream stream)
    {
        Span<byte> head = stackalloc byte[16];
        stream.Position = 0;
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (read == 0)
            throw new InvalidDataException("the file is empty");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (read >= 4 && head[..4].SequenceEqual("PK\x03\x04"u8))
            return new ContainerContents(WeightsFormat.TorchZip, ReadZip(stream, metadata), metadata);
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
            return new ContainerContents(WeightsFormat.TorchLegacy, ReadLegacy(stream), metadata);
        if (read >= 9 && head[8] == (byte)'{')
            return new ContainerContents(WeightsFormat.Safetensors, ReadSafetensors(stream, metadata), metadata);
        throw new InvalidDataException(
            "it is not a PyTorch weights file: neither the zip that torch.save writes, nor its legacy format, nor safetensors");
    }

    private static object ReadZip(Stream stream, Dictionary<string, string> metadata)
    {
        CheckZipDirectory(stream);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"its zip structure is corrupt or cut off ({e.Message})", e);
        }

        using (archive)
        {
            var pickles = archive.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') <= 1).ToList();
            if (pickles.Count != 1)
                throw new InvalidDataException(pickles.Count == 0
                    ? "it is a zip file but not one torch.save wrote: it has no data.pkl"
                    : "it is a zip file with more than one data.pkl");
            var pickle = pickles[0];
            string prefix = pickle.FullName[..^"data.pkl".Length];
            if (archive.GetEntry(prefix + "byteorder") is { } byteOrder && ReadSmallText(byteOrder) is { } order && order != "little")
                throw new InvalidDataException($"its tensors are stored {order}-endian; re-save it on a little-endian machine");
            if (archive.GetEntry(prefix + WeightsWriter.ZipMetadataEntry) is { } described)
                ReadMetadata(ReadEntry(described, 1 << 16, WeightsWriter.ZipMetadataEntry), metadata);
            byte[] pickleBytes = ReadEntry(pickle, MaxPickleBytes, "data.pkl");
            var storages = new Dictionary<string, StorageRef>(StringComparer.Ordinal);
            // Deflated entries can declare far more bytes than the file holds (a zip bomb): all storages together may
            // expand to a few times the file, as tensors may (WeightsFile.CheckMaterialisedSize).
            long declared = 0, expansionLimit = 4 * stream.Length + (64L << 20);
            using var pickleStream = new MemoryStream(pickleBytes, writable: false);
            return PickleMachine.Load(pickleStream, pickleBytes.Length, pid =>
            {
                var (key, dtype, numel) = StorageId(pid, expectedLength: 5);
                if (storages.TryGetValue(key, out var known))
                    return known.Dtype == dtype && known.Numel == numel ? known : throw new InvalidDataException($"storage '{key}' is declared twice, differently");
                string entryName = prefix + "data/" + key;
                var entry = archive.GetEntry(entryName) ?? throw new InvalidDataException($"storage '{key}' is missing from the zip");
                long bytes = numel * dtype.Size();
                if (numel < 0 || numel > long.MaxValue / 8 || bytes > entry.Length)
                    throw new InvalidDataException(
                        $"storage '{key}' declares {numel:N0} {dtype.Name()} elements ({bytes:N0} bytes) but its zip entry holds {entry.Length:N0} bytes: the file is cut off or crafted");
                declared += bytes;
                if (declared > expansionLimit)
                    throw new InvalidDataException(
                        $"its storages declare more than {expansionLimit:N0} bytes, far more than the {stream.Length:N0}-byte file holds (compressed entries that expand without limit): it is crafted or corrupt");
                var storage = new StorageRef(key, dtype, numel, FilePosition: -1, ZipEntry: entryName);
                storages[key] = storage;
                return storage;
            });
        }
    }

    /// <summary>Reads the bytes of each storage (all of it; checked at load against what the file holds), one zip directory read for all.</summary>
    public static Dictionary<string, byte[]> ReadStorages(Stream stream, WeightsFormat format, IEnumerable<StorageRef> storages)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        ZipArchive? archive = format == WeightsFormat.TorchZip ? new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true) : null;
        using (archive)
        {
            foreach (var storage in storages)
            {
                if (result.ContainsKey(storage.Key))
                    continue;
                long bytes = storage.Numel * storage.Dtype.Size();
                if (bytes > Array.MaxLength)
                    throw new InvalidDataException($"storage '{storage.Key}' holds {bytes:N0} bytes, more than one array can hold");
                var data = new byte[bytes];
                if (archive is not null)
                {
                    var entry = archive.GetEntry(storage.ZipEntry!) ?? throw new InvalidDataException($"storage '{storage.Key}' is missing from the zip");
                    using var content = entry.Open();
                    content.ReadExactly(data);
                }
                else
                {
                    stream.Position = storage.FilePosition;
                    stream.ReadExactly(data);
                }

                result[storage.Key] = data;
            }
        }

        return result;
    }

    /// <summary>
    /// Checks the zip's end-of-central-directory record before .NET's reader builds an entry object per directory
    /// record: a directory of millions of tiny entries would cost several times the file's size in memory.
    /// </summary>
    private static void CheckZipDirectory(Stream stream)
    {
        long length = stream.Length;
        int tail = (int)Math.Min(length, 22 + 65535);
        var buffer = new byte[tail];
        stream.Position = length - tail;
        stream.ReadExactly(buffer);
        stream.Position = 0;
        for (int at = tail - 22; at >= 0; at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at)) != 0x06054B50)
                continue;
            uint directoryBytes = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 12));
            if (directoryBytes != uint.MaxValue && directoryBytes > MaxZipDirectoryBytes)
                throw new InvalidDataException($"its zip directory of entries is {directoryBytes:N0} bytes, above the {MaxZipDirectoryBytes:N0} read");
            return; // a ZIP64 directory (size 0xFFFFFFFF here): .NET's reader checks it against the file
        }

        throw new InvalidDataException("it starts like a zip file but has no zip directory: it is cut off or corrupt");
    }

    /// <summary>
    /// Reads a whole entry of at most <paramref name="limit"/> declared bytes. torch.save stores entries uncompressed;
    /// other writers (TorchSharp.PyBridge) deflate them, and then no more than the declared size is ever read.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, string what)
    {
        if (entry.Length > limit)
            throw new InvalidDataException($"its {what} is {entry.Length:N0} bytes, above the {limit:N0} read");
        var bytes = new byte[entry.Length];
        using var content = entry.Open();
        content.ReadExactly(bytes);
        return bytes;
    }

    private static string? ReadSmallText(ZipArchiveEntry entry)
        => entry.Length <= 64 ? System.Text.Encoding.ASCII.GetString(ReadEntry(entry, 64, entry.Name)).Trim() : null;

    /// <summary>A JSON object of strings (this library's metadata entry); anything else is ignored.</summary>
    private static void ReadMetadata(byte[] json, Dictionary<string, string> metadata)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
            return; // names with invalid UTF-8 would fail when read
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return;
            foreach (var item in document.RootElement.EnumerateObject().Where(i => i.Value.ValueKind == JsonValueKind.String))
                metadata[item.Name] = item.Value.GetString()!;
        }
        catch (JsonException)
        {
            // Metadata is a hint: a malformed entry is ignored and the network is detected from its keys.
        }
    }

    /// <summary>A storage persistent id: ('storage', storage type, key, location, numel[, view metadata]).</summary>
    private static (string Key, StoredDtype Dtype, long Numel) StorageId(PyTuple pid, int expectedLength)
    {
        if (pid.Count < expectedLength || pid[0] is not "storage")
            throw new InvalidDataException("it holds a persistent id that is not a PyTorch storage");
        if (pid[1] is not PyGlobal type || StoredDtypes.FromStorageClass(type.Name) is not { } dtype)
            throw new InvalidDataException($"a storage has the unknown type {pid[1]}");
        string key = pid[2] as string ?? throw new InvalidDataException("a storage key is not a string");
        if (key.Length == 0 || key.Length > 64 || key.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_'))
            throw new InvalidDataException("a storage key is not a plain name");
        long numel = pid[4] is long n ? n : throw new InvalidDataException($"storage '{key}' has no element count");
        if (numel < 0)
            throw new InvalidDataException($"storage '{key}' has a negative element count");
        return (key, dtype, numel);
    }

    /// <summary>
    /// The legacy format (torch/serialization.py, <c>_legacy_save</c>): pickles of the magic number, the protocol
    /// version and the system info, the object (storages as persistent ids), the list of storage keys, then for each
    /// key an 8-byte element count and the raw elements.
    /// </summary>
    private static object ReadLegacy(Stream stream)
    {
        long end = stream.Length;
        object magic = PickleMachine.Load(stream, end, NoPersistentIds);
        if (magic is not BigInteger number || number != LegacyMagic)
            throw new InvalidDataException("it starts with a pickle but is not a torch.save file (no magic number)");
        if (PickleMachine.Load(stream, end, NoPersistentIds) is not 1001L)
            throw new InvalidDataException("its legacy torch format version is not 1001");
        if (PickleMachine.Load(stream, end, NoPersistentIds) is PyDict info && info.TryGet("little_endian", out var little) && little is false)
            throw new InvalidDataException("its tensors are stored big-endian; re-save it on a little-endian machine");

        // Storage references made while unpickling are provisional: the data's place in the file is known only after the
        // key list. A view's reference carries the view's size as its element count (so the tensors on it are checked
        // against the view) and its offset in the root storage in FilePosition, until Relocate.
        var declared = new Dictionary<string, (StoredDtype Dtype, long Numel)>(StringComparer.Ordinal);
        object root = PickleMachine.Load(stream, Math.Min(end, stream.Position + MaxPickleBytes), pid =>
        {
            var (key, dtype, numel) = StorageId(pid, expectedLength: 6);
            if (declared.TryGetValue(key, out var known) && (known.Dtype != dtype || known.Numel != numel))
                throw new InvalidDataException($"storage '{key}' is declared twice, differently");
            declared[key] = (dtype, numel);
            if (pid[5] is PyTuple { Count: 3 } view && view[0] is string viewKey && view[1] is long viewOffset && view[2] is long viewSize)
            {
                if (viewOffset < 0 || viewSize < 0 || viewOffset > numel - viewSize)
                    throw new InvalidDataException($"the view '{viewKey}' of storage '{key}' lies outside it");
                return new StorageRef(key, dtype, viewSize, FilePosition: viewOffset, ZipEntry: null);
            }

            return new StorageRef(key, dtype, numel, FilePosition: 0, ZipEntry: null);
        });

        if (PickleMachine.Load(stream, end, NoPersistentIds) is not PyList keys)
            throw new InvalidDataException("its list of storage keys is missing");
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        Span<byte> count = stackalloc byte[8];
        foreach (var item in keys)
        {
            if (item is not string key || !declared.TryGetValue(key, out var storage))
                throw new InvalidDataException("its list of storage keys names a storage that is not declared");
            if (stream.Read(count) != 8)
                throw new InvalidDataException($"storage '{key}' is cut off");
            long numel = BinaryPrimitives.ReadInt64LittleEndian(count);
            long bytes = numel * storage.Dtype.Size();
            if (numel != storage.Numel || numel < 0 || bytes > end - stream.Position)
                throw new InvalidDataException(
                    $"storage '{key}' declares {storage.Numel:N0} {storage.Dtype.Name()} elements; its record holds {Math.Max(0, end - stream.Position):N0} bytes: the file is cut off or crafted");
            positions[key] = stream.Position;
            stream.Position += bytes;
        }

        // Give every storage reference its place in the file (views: their root's place plus the view's offset).
        return Relocate(root, positions, declared);
    }

    /// <summary>Replaces the legacy storage references (made before the data's positions were known) by located ones.</summary>
    private static object Relocate(object root, Dictionary<string, long> positions, Dictionary<string, (StoredDtype Dtype, long Numel)> declared)
    {
        var done = new Dictionary<StoredTensor, StoredTensor>(ReferenceEqualityComparer.Instance);
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);

        object Visit(object value, int depth)
        {
            if (depth > 64)
                throw new InvalidDataException("its object nests deeper than 64 levels");
            switch (value)
            {
                case StoredTensor tensor:
                    if (done.TryGetValue(tensor, out var located))
                        return located;
                    var storage = tensor.Storage;
                    if (!positions.TryGetValue(storage.Key, out long position))
                        throw new InvalidDataException($"storage '{storage.Key}' has no data in the file");
                    long viewOffset = storage.FilePosition; // for a view: its offset (elements) in the root storage
                    var rootStorage = new StorageRef(storage.Key, storage.Dtype, declared[storage.Key].Numel, position, null);
                    located = StoredTensor.Create(rootStorage, tensor.Offset + viewOffset, tensor.Shape, tensor.Stride);
                    done[tensor] = located;
                    return located;
                case PyDict dict when visited.Add(dict):
                    foreach (var (key, item) in dict.Items.ToList())
                        dict.Set(key, Visit(item, depth + 1));
                    return dict;
                case PyList list when visited.Add(list):
                    for (int i = 0; i < list.Count; i++)
                        list[i] = Visit(list[i], depth + 1);
                    return list;
                case PyTuple tuple when visited.Add(tuple):
                    for (int i = 0; i < tuple.Count; i++)
                        tuple.Items[i] = Visit(tuple.Items[i], depth + 1);
                    return tuple;
                default:
                    return value;
            }
        }

        return Visit(root, 0);
    }

    private static object NoPersistentIds(PyTuple pid) => throw new InvalidDataException("a header pickle holds a persistent id");

    /// <summary>
    /// safetensors (huggingface/safetensors, the format's README): an 8-byte little-endian header length, a JSON object
    /// of name -> {dtype, shape, data_offsets} (and an optional __metadata__ of strings), then the data; offsets are
    /// relative to the data, must lie inside it, match dtype x shape, and not overlap.
    /// </summary>
    private static object ReadSafetensors(Stream stream, Dictionary<string, string> metadata)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        long length = stream.Length;
        if (headerLength > (ulong)(length - 8))
            throw new InvalidDataException($"its safetensors header claims {headerLength:N0} bytes but the file has {length - 8:N0} after the length");
        if ((long)headerLength > MaxSafetensorsHeaderBytes)
            throw new InvalidDataException($"its safetensors header is {headerLength:N0} bytes, above the {MaxSafetensorsHeaderBytes:N0} read");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength, dataLength = length - dataStart;
        // The JSON reader leaves invalid UTF-8 inside strings to be found when a name is read; refuse it here.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new InvalidDataException("its safetensors header is not valid UTF-8 text");
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"its safetensors header is not valid JSON ({e.Message})", e);
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("its safetensors header is not a JSON object");
            var dict = new PyDict();
            var spans = new List<(long Begin, long End, string Name)>();
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                        foreach (var item in property.Value.EnumerateObject().Where(i => i.Value.ValueKind == JsonValueKind.String))
                            metadata[item.Name] = item.Value.GetString()!;
                    continue;
                }
                var entry = property.Value;
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("dtype", out var dtypeText) || dtypeText.ValueKind != JsonValueKind.String
                    || !entry.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array
                    || !entry.TryGetProperty("data_offsets", out var offsetsJson) || offsetsJson.ValueKind != JsonValueKind.Array || offsetsJson.GetArrayLength() != 2)
                    throw new InvalidDataException($"its safetensors entry '{property.Name}' lacks dtype, shape or data_offsets");
                var dtype = StoredDtypes.FromSafetensors(dtypeText.GetString()!)
                            ?? throw new InvalidDataException($"its safetensors entry '{property.Name}' has the unsupported dtype {dtypeText.GetString()}");
                // A shape or an offset that is not an integer (a string, null, an array, 1.5) reads as -1: refused below.
                var shape = shapeJson.EnumerateArray().Select(Integer).ToArray();
                long begin = Integer(offsetsJson[0]), endOffset = Integer(offsetsJson[1]);
                if (begin < 0 || endOffset < begin || endOffset > dataLength)
                    throw new InvalidDataException(
                        $"its safetensors entry '{property.Name}' has the data offsets [{begin}, {endOffset}] outside the {dataLength:N0} bytes of data");
                long numel = (endOffset - begin) / dtype.Size();
                if (StoredTensor.CountElements(shape) is not { } count || count != numel || numel * dtype.Size() != endOffset - begin)
                    throw new InvalidDataException(
                        $"its safetensors entry '{property.Name}' has the shape [{string.Join(", ", shape)}] of {dtype.Name()} but {endOffset - begin:N0} bytes");
                var storage = new StorageRef(property.Name, dtype, numel, dataStart + begin, ZipEntry: null);
                var tensor = StoredTensor.Create(storage, 0, shape, stride: null);
                spans.Add((begin, endOffset, property.Name));
                dict.Set(property.Name, tensor);
            }

            spans.Sort((x, y) => x.Begin.CompareTo(y.Begin));
            for (int i = 1; i < spans.Count; i++)
                if (spans[i].Begin < spans[i - 1].End)
                    throw new InvalidDataException($"its safetensors entries '{spans[i - 1].Name}' and '{spans[i].Name}' overlap");
            return dict;
        }
    }

    /// <summary>A JSON integer, or -1 for anything else (another JSON type, a fraction, beyond 64 bits).</summary>
    private static long Integer(JsonElement value) => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) ? n : -1;
}
