using System.Globalization;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// The keys and tensor shapes of a state_dict, which is all that architecture detection reads (no tensor data), with
/// the questions detection rules ask: is a key there, what is a dimension of its shape, how long is a numbered
/// sequence of modules (<c>body.0</c>, <c>body.1</c>, ...).
/// </summary>
internal sealed class StateDictShapes(IReadOnlyDictionary<string, long[]> shapes)
{
    public IReadOnlyCollection<string> Keys => (IReadOnlyCollection<string>)shapes.Keys;

    public bool Has(string key) => shapes.ContainsKey(key);

    public bool HasAll(params string[] keys) => keys.All(shapes.ContainsKey);

    public bool HasAny(params string[] keys) => keys.Any(shapes.ContainsKey);

    /// <summary>The shape of <paramref name="key"/>; a clear error when it is missing.</summary>
    public long[] Shape(string key)
        => shapes.TryGetValue(key, out var shape) ? shape : throw new InvalidDataException($"the key '{key}' that the layout needs is missing");

    /// <summary>Dimension <paramref name="dim"/> of <paramref name="key"/>'s shape, as an int; a clear error when the shape has no such dimension.</summary>
    public int Dim(string key, int dim)
    {
        var shape = Shape(key);
        if (dim >= shape.Length || shape[dim] > int.MaxValue)
            throw new InvalidDataException($"'{key}' has the shape [{string.Join(", ", shape)}], which the layout does not allow");
        return (int)shape[dim];
    }

    /// <summary>
    /// The numbers i for which some key starts with <paramref name="prefix"/> + i + "." (e.g. "body." gives the
    /// indices of body.0, body.1, ...), in increasing order.
    /// </summary>
    public IReadOnlyList<int> Indices(string prefix)
    {
        var indices = new SortedSet<int>();
        foreach (string key in shapes.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            int dot = key.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(key.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                indices.Add(index);
        }

        return indices.ToList();
    }

    /// <summary>
    /// How many modules the sequence <paramref name="prefix"/>0., 1., ... has (the highest index + 1; 0 when none).
    /// Modules without parameters (activations, upsampling) leave gaps in a real file's indices, never more than
    /// <see cref="MaxSequenceGap"/> - 1 in a row; a larger gap is refused, so that a file cannot make detection build a
    /// network far larger than the keys it holds (one key "body.1000000." would ask for a million blocks).
    /// </summary>
    /// <exception cref="InvalidDataException">The indices jump by more than <see cref="MaxSequenceGap"/>.</exception>
    public int SequenceLength(string prefix)
    {
        var indices = Indices(prefix);
        if (indices.Count == 0)
            return 0;
        for (int i = 0; i < indices.Count; i++)
        {
            int previous = i == 0 ? -1 : indices[i - 1];
            if (indices[i] - previous > MaxSequenceGap)
                throw new InvalidDataException(
                    $"its keys under '{prefix}' jump from index {(i == 0 ? "the start" : previous.ToString(CultureInfo.InvariantCulture))} to {indices[i]}, which no network's sequence does");
        }

        return indices[^1] + 1;
    }

    /// <summary>The largest step between consecutive indices of a sequence (the original ESRGAN layout's model.3, model.6).</summary>
    public const int MaxSequenceGap = 3;

    /// <summary>The same shapes under keys renamed by <paramref name="rename"/>.</summary>
    public StateDictShapes Renamed(Func<string, string> rename) => new(KeyRenaming.Apply(shapes, rename));
}

/// <summary>A file's keys mapped onto a network's (a detected layout's renaming), refusing two keys that meet.</summary>
internal static class KeyRenaming
{
    /// <summary>
    /// <paramref name="items"/> under the keys <paramref name="rename"/> gives; an <see cref="InvalidDataException"/> when
    /// two keys map to one (a file that holds a key twice, once in each layout, is not one network's weights).
    /// </summary>
    public static Dictionary<string, T> Apply<T>(IEnumerable<KeyValuePair<string, T>> items, Func<string, string> rename)
    {
        var renamed = new Dictionary<string, T>(StringComparer.Ordinal);
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in items)
        {
            string name = rename(key);
            if (!from.TryAdd(name, key))
                throw new InvalidDataException($"its keys '{from[name]}' and '{key}' are both '{name}' of the network's layout");
            renamed[name] = value;
        }

        return renamed;
    }
}

/// <summary>
/// What a descriptor read from a state_dict: its options, scale and image channels, the layout variant, and how the
/// file's keys map onto the network's (null when they are the network's own).
/// </summary>
/// <param name="Options">Every hyper-parameter, read from keys and shapes.</param>
/// <param name="Scale">The upscaling factor of the image (1 for restoration models).</param>
/// <param name="Channels">Image channels in and out: 3 (RGB) or 1 (grayscale, run as the Y channel).</param>
/// <param name="Variant">The layout the file has, e.g. "Real-ESRGAN (BasicSR keys)".</param>
/// <param name="RenameKey">Maps a key of the file to the network's key, for layouts whose keys differ from ours.</param>
/// <param name="Notes">What the file does not say and was assumed (e.g. a default the official code uses).</param>
/// <param name="ChannelMode">How a 1-channel network sees the image; null: <see cref="SrChannels.Gray"/> (what the
/// community's grayscale models were trained on) for one channel, <see cref="SrChannels.Rgb"/> for three.</param>
internal sealed record Detection(SrNetworkOptions Options, int Scale, int Channels, string Variant, Func<string, string>? RenameKey = null,
    IReadOnlyList<string>? Notes = null, SrChannels? ChannelMode = null);
