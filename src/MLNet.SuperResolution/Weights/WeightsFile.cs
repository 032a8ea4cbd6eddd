using MLNet.SuperResolution.Weights.Pickle;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>
/// A weights file as read, before any tensor data: its container, where its state_dict was inside it (a wrapper key
/// such as <c>params_ema</c>, a key prefix such as <c>module.</c>), and each tensor's dtype and shape under its
/// canonical key. Model files are untrusted input: reading never runs anything from the file (<see cref="PickleMachine"/>),
/// every size is checked against the bytes present before anything is allocated, and <see cref="ReadTensors"/> copies
/// tensor data out in managed code. Errors name the file.
/// </summary>
internal sealed class WeightsFile
{
    /// <summary>Wrapper keys that hold the state_dict in training checkpoints, in order of preference (EMA weights first).</summary>
    public static readonly string[] WrapperKeys = ["params_ema", "params-ema", "params", "state_dict", "model_state_dict", "model", "net", "netG", "generator", "net_g"];

    /// <summary>Key prefixes that wrapping by DataParallel or GAN frameworks adds to every key.</summary>
    public static readonly string[] CommonPrefixes = ["module.", "netG.", "net_g."];

    /// <summary>Gives a stream on the file for reading tensor data, and whether the reader disposes it.</summary>
    private readonly Func<(Stream Stream, bool Owned)> _open;

    private WeightsFile(string name, Func<(Stream, bool)> open, WeightsFormat format, string? wrapper, string prefix, IReadOnlyDictionary<string, StoredTensor> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Metadata = metadata;
        Name = name;
        _open = open;
        Format = format;
        Wrapper = wrapper;
        Prefix = prefix;
        Tensors = tensors;
    }

    /// <summary>The file's path (or a description of the stream), for messages.</summary>
    public string Name { get; }

    public WeightsFormat Format { get; }

    /// <summary>The wrapper key the state_dict was found under (<c>params_ema</c>, <c>state_dict</c>, ...), or null.</summary>
    public string? Wrapper { get; }

    /// <summary>The prefix removed from every key (<c>module.</c>, <c>netG.</c>), or empty.</summary>
    public string Prefix { get; }

    /// <summary>String metadata the file carries (safetensors' __metadata__; this library's zip entry); empty when none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors by canonical key, in the file's order.</summary>
    public IReadOnlyDictionary<string, StoredTensor> Tensors { get; }

    /// <summary>The stored dtype of most of the floating-point tensors (float32 for a file without any).</summary>
    public StoredDtype StoredFloatType => Tensors.Values.Where(t => t.Dtype.IsFloatingPoint())
        .GroupBy(t => t.Dtype).OrderByDescending(g => g.Sum(t => t.Numel)).Select(g => g.Key).DefaultIfEmpty(StoredDtype.Float32).First();

    /// <summary>Reads the structure of the weights file at <paramref name="path"/> (nothing of the tensor data).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not a weights file, malformed, hostile, or holding no tensors: the message names the file and says why.</exception>
    public static WeightsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Weights file not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Open(stream, path, () => (File.OpenRead(path), true));
    }

    /// <summary>
    /// Reads the structure of a weights file from a seekable stream, which must stay open until the last
    /// <see cref="ReadTensors"/> (an embedded resource); <paramref name="name"/> names it in messages.
    /// </summary>
    public static WeightsFile Open(Stream stream, string name) => Open(stream, name, () => (stream, false));

    private static WeightsFile Open(Stream stream, string name, Func<(Stream, bool)> reopen)
    {
        ContainerContents contents;
        try
        {
            contents = WeightsFormats.Read(stream);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"'{name}' cannot be read as model weights: {e.Message}.", e);
        }

        var (dict, wrapper) = FindStateDict(contents.Root, name);
        var tensors = new List<(string Key, StoredTensor Tensor)>();
        foreach (var (key, value) in dict.Items)
            if (key is string text && value is StoredTensor tensor)
                tensors.Add((text, tensor));
        if (tensors.Count == 0)
            throw new InvalidDataException($"'{name}' holds no tensors{(wrapper is null ? "" : $" under '{wrapper}'")}: it is not a state_dict of a network.");

        string prefix = CommonPrefixes.FirstOrDefault(p => tensors.All(t => t.Key.StartsWith(p, StringComparison.Ordinal))) ?? string.Empty;
        var canonical = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in tensors)
            canonical[key[prefix.Length..]] = tensor;
        CheckMaterialisedSize(canonical.Values, stream.Length, name);
        return new WeightsFile(name, reopen, contents.Format, wrapper, prefix, canonical, contents.Metadata);
    }

    /// <summary>
    /// Finds the state_dict: the root dict itself when it holds tensors, else the first wrapper key that holds a dict
    /// with tensors, else the only dict value; a few levels deep at most.
    /// </summary>
    private static (PyDict Dict, string? Wrapper) FindStateDict(object root, string name)
    {
        if (root is not PyDict dict)
            throw new InvalidDataException($"'{name}' holds a {root.GetType().Name.Replace("Py", "", StringComparison.Ordinal).ToLowerInvariant()}, not a state_dict (a mapping of names to tensors).");
        var path = new List<string>();
        for (int depth = 0; depth < 4; depth++)
        {
            string? next = WrapperKeys.FirstOrDefault(k => dict.TryGet(k, out var inner) && inner is PyDict d && d.Count > 0);
            if (next is null && !HasTensors(dict))
            {
                var dicts = dict.Items.Where(i => i.Value is PyDict d && d.Count > 0).ToList();
                if (dicts.Count == 1 && dicts[0].Key is string only)
                    next = only;
            }

            if (next is null)
                break;
            dict.TryGet(next, out var value);
            dict = (PyDict)value;
            path.Add(next);
        }

        return (dict, path.Count == 0 ? null : string.Join("/", path));
    }

    private static bool HasTensors(PyDict dict) => dict.Items.Any(i => i.Value is StoredTensor);

    /// <summary>
    /// Refuses files whose tensors, read as float32, would take far more memory than the file: tensors that share one
    /// storage can make a small file expand without limit.
    /// </summary>
    private static void CheckMaterialisedSize(IEnumerable<StoredTensor> tensors, long fileLength, string name)
    {
        long limit = 4 * fileLength + (64L << 20), total = 0;
        foreach (var tensor in tensors)
        {
            total += tensor.Numel * Math.Max(4, tensor.Dtype.Size());
            if (total > limit)
                throw new InvalidDataException(
                    $"'{name}' declares tensors that would take more than {limit:N0} bytes read from a {fileLength:N0}-byte file " +
                    "(tensors that share their storage many times): it is crafted or corrupt.");
        }
    }

    /// <summary>
    /// Reads the tensors named by <paramref name="keys"/> (default: all) as CPU tensors: floating-point ones in
    /// <paramref name="floatType"/> (float32 by default), integers as int64. The caller disposes them.
    /// </summary>
    public Dictionary<string, Tensor> ReadTensors(IEnumerable<string>? keys = null, ScalarType floatType = ScalarType.Float32)
    {
        var wanted = (keys ?? Tensors.Keys).ToList();
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            var (stream, owned) = _open();
            using var disposer = owned ? stream : null;
            var storages = WeightsFormats.ReadStorages(stream, Format, wanted.Select(k => Tensors[k].Storage));
            foreach (string key in wanted)
            {
                var tensor = Tensors[key];
                result[key] = tensor.Read(storages[tensor.Storage.Key], floatType);
            }

            return result;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            foreach (var tensor in result.Values)
                tensor.Dispose();
            throw new InvalidDataException($"'{Name}' could not be read: {e.Message}.", e);
        }
    }
}
