using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelFuzz;

/// <summary>
/// Structure-aware mutations of model files: torch.save zips (entries, their names and sizes, the pickle's opcodes and
/// arguments: storage keys, dtypes, shapes, strides, offsets), legacy torch pickles, safetensors (header length, JSON,
/// dtypes, shapes, offsets, overlaps), ML.NET model zips; plus byte-level mutations of the whole file. Code-execution
/// payloads (a pickle that would run <c>touch MARKER</c>) are among the pickle mutations.
/// </summary>
public sealed class ModelMutator(string payloadMarker)
{
    private static readonly long[] ExtremeIntegers =
        [0, 1, -1, 2, 255, 65_536, int.MaxValue, int.MinValue, uint.MaxValue, 1L << 40, long.MaxValue, long.MinValue, 1L << 62];

    private static readonly (string Module, string Name)[] Globals =
    [
        ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"), ("subprocess", "Popen"),
        ("builtins", "getattr"), ("__builtin__", "open"), ("torch", "HalfStorage"), ("torch", "LongStorage"),
        ("torch", "BoolStorage"), ("torch", "ComplexFloatStorage"), ("torch", "ByteStorage"), ("torch", "BFloat16Storage"),
        ("torch", "DoubleStorage"), ("torch", "NoSuchStorage"), ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"), ("torch", "Size"), ("torch.nn.modules.conv", "Conv2d"),
    ];

    private static readonly string[] Strings =
    [
        "", "0", "1", "99999", "-1", "../../etc/passwd", "/etc/passwd", "archive/data/0", "cuda", "cuda:0", "cpu", "meta",
        "storage", "weight", "params_ema", "state_dict", "model.0.weight", "conv_first.weight", "\u0000", "\uFFFF",
        new string('A', 1000), new string('x', 100_000),
    ];

    private static readonly string[] SafetensorsDtypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL", "F8_E4M3", "X", "", "f32"];

    /// <summary>What the last mutation did, for the report.</summary>
    public string LastKind { get; private set; } = "";

    /// <summary>One mutation of <paramref name="seed"/>: structure-aware for the formats above (3 in 4), else byte-level.</summary>
    public byte[] Mutate(byte[] seed, Random random)
    {
        if (random.Next(4) == 0)
            return Bytes(seed, random);
        if (IsZip(seed))
            return Zip(seed, random);
        if (IsSafetensors(seed))
            return Safetensors(seed, random);
        if (PickleOps.Parse(seed) is not null)
            return Legacy(seed, random);
        return Bytes(seed, random);
    }

    private byte[] Bytes(byte[] seed, Random random)
    {
        LastKind = "bytes";
        return ByteMutator.Mutate(seed, random);
    }

    private static bool IsZip(byte[] file) => file.Length > 4 && file[0] == (byte)'P' && file[1] == (byte)'K' && file[2] == 3 && file[3] == 4;

    private static bool IsSafetensors(byte[] file)
        => file.Length > 9 && BinaryPrimitives.ReadUInt64LittleEndian(file) < (ulong)file.Length && file[8] == (byte)'{';

    // ---- zips (torch.save and ML.NET models) ----

    private byte[] Zip(byte[] seed, Random random)
    {
        var entries = new List<(string Name, byte[] Data)>();
        using (var archive = new ZipArchive(new MemoryStream(seed), ZipArchiveMode.Read))
        {
            foreach (var entry in archive.Entries)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                entries.Add((entry.FullName, copy.ToArray()));
            }
        }

        if (entries.Count == 0)
            return Bytes(seed, random);
        int pick = random.Next(entries.Count);
        int pickle = entries.FindIndex(e => e.Name.EndsWith(".pkl", StringComparison.Ordinal));
        int bomb = -1;
        bool deflateAll = false;
        switch (random.Next(12))
        {
            case 0 or 1 or 2 or 3 when pickle >= 0: // the pickle: half of the zip mutations where there is one
                entries[pickle] = (entries[pickle].Name, Pickle(entries[pickle].Data, random));
                LastKind = "zip:pickle:" + LastKind;
                break;
            case 4: // truncate an entry (a storage shorter than its tensor)
                entries[pick] = (entries[pick].Name, entries[pick].Data[..random.Next(entries[pick].Data.Length + 1)]);
                LastKind = "zip:truncate-entry";
                break;
            case 5: // grow an entry
                entries[pick] = (entries[pick].Name, [.. entries[pick].Data, .. new byte[random.Next(1, 4096)]]);
                LastKind = "zip:grow-entry";
                break;
            case 6: // drop an entry
                entries.RemoveAt(pick);
                LastKind = "zip:drop-entry";
                break;
            case 7: // rename an entry: another storage key, a path out of the archive, a duplicate name
                string name = entries[pick].Name;
                string slash = name.Contains('/') ? name[..(name.LastIndexOf('/') + 1)] : "";
                string[] renames = [slash + "99999", slash + "../../evil", "../" + name, entries[random.Next(entries.Count)].Name, name.ToUpperInvariant(), name + "\0x"];
                entries[pick] = (renames[random.Next(renames.Length)], entries[pick].Data);
                LastKind = "zip:rename-entry";
                break;
            case 8: // swap two entries' contents
                int other = random.Next(entries.Count);
                (entries[pick], entries[other]) = ((entries[pick].Name, entries[other].Data), (entries[other].Name, entries[pick].Data));
                LastKind = "zip:swap-entries";
                break;
            case 9: // a deflate bomb in place of an entry: zeros that inflate to 64-256 MiB from a few hundred KB
                entries[pick] = (entries[pick].Name, new byte[(64 << 20) << random.Next(3)]);
                bomb = pick;
                LastKind = "zip:deflate-bomb";
                break;
            case 10: // bytes of one entry
                entries[pick] = (entries[pick].Name, ByteMutator.Mutate(entries[pick].Data, random));
                LastKind = "zip:entry-bytes";
                break;
            default: // the same entries, deflated (torch writes them stored)
                deflateAll = true;
                LastKind = "zip:deflated";
                break;
        }

        using var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (int i = 0; i < entries.Count; i++)
            {
                var (entryName, data) = entries[i];
                var entry = archive.CreateEntry(entryName, deflateAll || i == bomb ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using var stream = entry.Open();
                stream.Write(data);
            }
        }

        return output.ToArray();
    }

    // ---- pickles ----

    private byte[] Pickle(byte[] pickle, Random random, int start = 0)
    {
        var ops = PickleOps.Parse(pickle, start);
        if (ops is null || ops.Count < 2)
        {
            LastKind = "pickle-bytes";
            return ByteMutator.Mutate(pickle, random);
        }

        int at = random.Next(ops.Count - 1); // never the STOP alone
        var op = ops[at];
        byte[] replacement;
        switch (random.Next(9))
        {
            case 0 or 1: // an integer argument (shape, stride, offset, storage size) to an extreme value
                var integers = ops.FindAll(o => PickleOps.IsInteger(o.Code));
                if (integers.Count == 0)
                    goto default;
                op = integers[random.Next(integers.Count)];
                replacement = PickleOps.Integer(ExtremeIntegers[random.Next(ExtremeIntegers.Length)]);
                LastKind = "pickle-integer";
                break;
            case 2 or 3: // a string (storage key, device, dtype location, key name)
                var strings = ops.FindAll(o => PickleOps.IsString(o.Code));
                if (strings.Count == 0)
                    goto default;
                op = strings[random.Next(strings.Count)];
                replacement = PickleOps.Unicode(Strings[random.Next(Strings.Length)]);
                LastKind = "pickle-string";
                break;
            case 4: // a GLOBAL to another class or function
                var globals = ops.FindAll(o => o.Code == (byte)'c');
                if (globals.Count == 0)
                    goto default;
                op = globals[random.Next(globals.Count)];
                var (module, name) = Globals[random.Next(Globals.Length)];
                replacement = PickleOps.Global(module, name);
                LastKind = "pickle-global:" + module + "." + name;
                break;
            case 5: // a code-execution payload inserted before an opcode: os.system('touch MARKER')
                var (m, n) = Globals[random.Next(5)];
                replacement = [.. PickleOps.Global(m, n), .. PickleOps.Unicode($"touch {payloadMarker}"), 0x85, (byte)'R', .. pickle.AsSpan(op.Start, op.Length)];
                LastKind = "pickle-payload:" + m + "." + n;
                break;
            case 6: // drop an opcode
                replacement = [];
                LastKind = "pickle-drop-op";
                break;
            case 7: // repeat an opcode
                replacement = [.. pickle.AsSpan(op.Start, op.Length), .. pickle.AsSpan(op.Start, op.Length)];
                LastKind = "pickle-repeat-op";
                break;
            default: // bytes within one opcode's argument
                replacement = ByteMutator.Mutate(pickle[op.Start..(op.Start + op.Length)], random);
                LastKind = "pickle-op-bytes";
                break;
        }

        return [.. pickle.AsSpan(0, op.Start), .. replacement, .. pickle.AsSpan(op.Start + op.Length)];
    }

    /// <summary>The legacy torch format: a run of pickles (magic, protocol, system info, the state, the storage keys) and raw storages.</summary>
    private byte[] Legacy(byte[] seed, Random random)
    {
        var starts = new List<int>();
        int at = 0;
        while (at < seed.Length && PickleOps.Parse(seed, at) is { } ops)
        {
            starts.Add(at);
            var last = ops[^1];
            at = last.Start + last.Length;
        }

        if (random.Next(5) == 0 || starts.Count == 0)
        {
            // The raw storages after the pickles: cut them short, or change their 8-byte element counts.
            LastKind = "legacy-storages";
            int from = Math.Min(at, seed.Length - 1);
            return random.Next(2) == 0 ? seed[..random.Next(from, seed.Length)] : [.. seed.AsSpan(0, from), .. ByteMutator.Mutate(seed[from..], random)];
        }

        int start = starts[random.Next(starts.Count)];
        var result = Pickle(seed, random, start);
        LastKind = "legacy:" + LastKind;
        return result;
    }

    // ---- safetensors ----

    private byte[] Safetensors(byte[] seed, Random random)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        byte[] header = seed[8..(8 + headerLength)];
        byte[] data = seed[(8 + headerLength)..];
        switch (random.Next(8))
        {
            case 0: // the header length field
                ulong[] lengths = [0, 1, (ulong)headerLength - 1, (ulong)headerLength + 1, (ulong)seed.Length, (ulong)seed.Length * 2, uint.MaxValue, 1UL << 42, ulong.MaxValue];
                byte[] copy = (byte[])seed.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(copy, lengths[random.Next(lengths.Length)]);
                LastKind = "safetensors-header-length";
                return copy;
            case 1: // the data cut short
                LastKind = "safetensors-truncated";
                return seed[..random.Next(8, seed.Length)];
            case 2: // the header's bytes
                LastKind = "safetensors-header-bytes";
                return Rebuild(ByteMutator.Mutate(header, random), data);
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(header)!.AsObject();
        }
        catch (System.Text.Json.JsonException)
        {
            return Bytes(seed, random);
        }

        var tensors = json.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).Select(p => p.Key).ToList();
        if (tensors.Count == 0)
            return Bytes(seed, random);
        string key = tensors[random.Next(tensors.Count)];
        var tensor = json[key]!.AsObject();
        switch (random.Next(7))
        {
            case 0: // another dtype
                tensor["dtype"] = SafetensorsDtypes[random.Next(SafetensorsDtypes.Length)];
                LastKind = "safetensors-dtype";
                break;
            case 1: // a shape entry to an extreme or a wrong type
                var shape = tensor["shape"]!.AsArray();
                JsonNode?[] values = [0, -1, 1L << 40, long.MaxValue, 1.5, "3", null, new JsonArray()];
                if (shape.Count == 0 || random.Next(4) == 0)
                    shape.Add(values[random.Next(values.Length)]?.DeepClone());
                else
                    shape[random.Next(shape.Count)] = values[random.Next(values.Length)]?.DeepClone();
                LastKind = "safetensors-shape";
                break;
            case 2: // offsets: reversed, out of the file, overlapping another tensor's, huge
                var offsets = tensor["data_offsets"]!.AsArray();
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                (long, long)[] choices = [(end, begin), (begin, data.Length + 1L), (0, end - begin), (begin + 1, end + 1), (begin, long.MaxValue), (-1, end), (begin, begin)];
                var (b, e) = choices[random.Next(choices.Length)];
                tensor["data_offsets"] = new JsonArray(b, e);
                LastKind = "safetensors-offsets";
                break;
            case 3: // drop a tensor, or repeat one under another key
                if (random.Next(2) == 0)
                    json.Remove(key);
                else
                    json[key + ".copy"] = tensor.DeepClone();
                LastKind = "safetensors-tensors";
                break;
            case 4: // metadata: garbage, large, another type
                JsonNode?[] metadata = [new JsonObject { ["mlnet.superresolution"] = "{\"architecture\":\"Nope\"}" }, "x", 1,
                    new JsonObject { ["k"] = new string('m', 1 << 20) }, new JsonObject { ["mlnet.superresolution"] = new string('{', 100_000) }];
                json["__metadata__"] = metadata[random.Next(metadata.Length)]?.DeepClone();
                LastKind = "safetensors-metadata";
                break;
            case 5: // a tensor entry of another JSON type
                JsonNode?[] odd = [null, 1, "t", new JsonArray(1, 2), new JsonObject()];
                json[key] = odd[random.Next(odd.Length)]?.DeepClone();
                LastKind = "safetensors-entry-type";
                break;
            default: // deeply nested JSON
                JsonNode deep = 1;
                for (int i = 0; i < 200; i++)
                    deep = new JsonArray(deep);
                tensor["shape"] = deep;
                LastKind = "safetensors-deep-json";
                break;
        }

        return Rebuild(Encoding.UTF8.GetBytes(json.ToJsonString()), data);
    }

    private static byte[] Rebuild(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }
}
