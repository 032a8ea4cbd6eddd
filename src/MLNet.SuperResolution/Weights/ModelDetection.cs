using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>A weights file whose architecture, scale and hyper-parameters were read from its keys and shapes.</summary>
/// <param name="File">The file as opened.</param>
/// <param name="Architecture">The architecture detected.</param>
/// <param name="Detection">Its options, scale, channels, layout variant and key map.</param>
/// <param name="KeyPrefix">A prefix removed from every key beyond the known ones (e.g. "generator."), or empty.</param>
internal sealed record DetectedModel(WeightsFile File, SrArchitecture Architecture, Detection Detection, string KeyPrefix)
{
    /// <summary>The network's trainable parameters (counted when the detection was verified).</summary>
    public long ParameterCount { get; init; }

    public int Scale => Detection.Scale;

    public int Channels => Detection.Channels;

    /// <summary>How the network sees the image: RGB, or for one channel Gray (community models) or Y (this library's Y networks).</summary>
    public SrChannels ChannelMode => Detection.ChannelMode ?? (Channels == 1 ? SrChannels.Gray : SrChannels.Rgb);

    public SrNetworkOptions Options => Detection.Options;

    /// <summary>The file's key (canonical, without the extra prefix) to the network's.</summary>
    public string NetworkKey(string fileKey)
    {
        string key = fileKey[KeyPrefix.Length..];
        return Detection.RenameKey is { } rename ? rename(key) : key;
    }

    /// <summary>Builds the network (CPU, float32, eval mode) and loads the file's weights into it.</summary>
    /// <exception cref="InvalidDataException">The weights do not fit (named), or cannot be read.</exception>
    public SrNetwork CreateNetwork()
    {
        var network = NetworkFactory.Create(Architecture, Scale, Channels, Options);
        try
        {
            PyTorchWeights.Load(network, File, NetworkKey);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Tells a state_dict's architecture from its keys and shapes alone, as chaiNNer-org/spandrel does (its rules are read,
/// not copied): every registered architecture's <see cref="SrNetworkDescriptor.Detect"/> is asked; exactly one must
/// recognise the file; the network it describes is then built and its keys and shapes compared with the file's, so a
/// detection is never half right. A file no architecture recognises gets an error naming the closest families (by the
/// marker keys they share with it) and the file's own first keys.
/// </summary>
internal static class ModelDetection
{
    /// <summary>Detects the architecture of <paramref name="file"/>.</summary>
    /// <exception cref="InvalidDataException">Unknown, ambiguous, or an unsupported configuration of a known family: the message names the file and says what did not fit.</exception>
    public static DetectedModel Detect(WeightsFile file)
    {
        var shapes = file.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal);
        if (Described(file) is { } described)
        {
            var saved = new DetectedModel(file, described.Architecture, described.Detection, string.Empty);
            return saved with { ParameterCount = Verify(saved, shapes) };
        }

        var found = DetectAll(new StateDictShapes(shapes), file.Name);
        string prefix = string.Empty;
        if (found.Count == 0 && CommonFirstSegment(shapes.Keys) is { } segment)
        {
            // A framework's wrapper module name (Lightning's "model.", "generator."): try once without it.
            prefix = segment;
            found = DetectAll(new StateDictShapes(shapes.ToDictionary(kv => kv.Key[segment.Length..], kv => kv.Value, StringComparer.Ordinal)), file.Name);
            if (found.Count == 0)
                prefix = string.Empty;
        }

        if (found.Count == 0)
            throw new InvalidDataException(Unknown(file, shapes));
        if (found.Count > 1)
            throw new InvalidDataException(
                $"'{file.Name}' fits several architectures ({string.Join(", ", found.Select(f => f.Architecture))}); the detection rules should not overlap: please report the file's keys.");
        var (architecture, detection) = found[0];
        var model = new DetectedModel(file, architecture, detection, prefix);
        return model with { ParameterCount = Verify(model, shapes) };
    }

    /// <summary>
    /// A file written by this library says what it holds (<see cref="WeightsWriter.Describe"/>): any zoo network, also
    /// those whose keys alone do not say their scale or options. Null when the file carries no such description (or a
    /// malformed one, which is ignored).
    /// </summary>
    private static (SrArchitecture Architecture, Detection Detection)? Described(WeightsFile file)
    {
        var metadata = file.Metadata;
        if (!metadata.TryGetValue("mlnet.architecture", out var name) || !Enum.TryParse<SrArchitecture>(name, out var architecture)
            || !metadata.TryGetValue("mlnet.scale", out var scaleText) || !int.TryParse(scaleText, System.Globalization.CultureInfo.InvariantCulture, out int scale)
            || !metadata.TryGetValue("mlnet.channels", out var channelsText) || !Enum.TryParse<SrChannels>(channelsText, out var mode) || !Enum.IsDefined(mode)
            || !metadata.TryGetValue("mlnet.options", out var optionsJson)
            || architecture == SrArchitecture.Bicubic)
            return null;
        try
        {
            var options = NetworkFactory.DeserializeOptions(architecture, optionsJson);
            return (architecture, new Detection(options, scale, mode.NetworkChannels(), "saved by this library", ChannelMode: mode));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    private static List<(SrArchitecture Architecture, Detection Detection)> DetectAll(StateDictShapes shapes, string name)
    {
        var found = new List<(SrArchitecture, Detection)>();
        foreach (var descriptor in NetworkFactory.All)
        {
            Detection? detection;
            try
            {
                detection = descriptor.Detect(shapes);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                throw new InvalidDataException($"'{name}' has the layout of {descriptor.Architecture} but not a configuration this library builds: {e.Message}.", e);
            }

            if (detection is not null)
                found.Add((descriptor.Architecture, detection));
        }

        return found;
    }

    /// <summary>The first dotted segment (with its dot) that every key starts with, when it is a name rather than an index.</summary>
    private static string? CommonFirstSegment(IEnumerable<string> keys)
    {
        string? segment = null;
        foreach (string key in keys)
        {
            int dot = key.IndexOf('.');
            if (dot <= 0)
                return null;
            string first = key[..(dot + 1)];
            if (segment is null)
                segment = first;
            else if (segment != first)
                return null;
        }

        return segment is not null && !char.IsAsciiDigit(segment[0]) ? segment : null;
    }

    /// <summary>Builds the detected network (on the CPU, no file data read) and compares its keys and shapes with the file's.</summary>
    /// <returns>The network's trainable parameters.</returns>
    private static long Verify(DetectedModel model, IReadOnlyDictionary<string, long[]> shapes)
    {
        using var scope = NewDisposeScope();
        SrNetwork network;
        // The network may not ask for more convolution weights than the file holds (with room for the layers a file
        // legitimately leaves out, none of which is large): built first, compared after, it would otherwise allocate
        // whatever the shapes of a crafted file describe.
        long fileElements = shapes.Values.Sum(shape => shape.Aggregate(1L, (a, b) => a * Math.Max(b, 0)));
        try
        {
            using (ConstructionBudget.Limit(fileElements + fileElements / 2 + (4L << 20)))
                network = NetworkFactory.Create(model.Architecture, model.Scale, model.Channels, model.Options);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{model.File.Name}' looks like {model.Architecture} ({model.Detection.Variant}, x{model.Scale}) but {e.Message}.", e);
        }
        catch (ArgumentException e)
        {
            // The shapes read as hyper-parameters the network refuses (a tampered file): the options' own check says which.
            throw new InvalidDataException(
                $"'{model.File.Name}' has the layout of {model.Architecture} ({model.Detection.Variant}) but its shapes give a configuration the network does not build: {e.Message}", e);
        }

        using var owned = network;
        var expected = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
        var renamed = new Dictionary<string, (string FileKey, long[] Shape)>(StringComparer.Ordinal);
        foreach (var (key, shape) in shapes)
            renamed[model.NetworkKey(key)] = (key, shape);
        var missing = expected.Keys.Where(k => !renamed.ContainsKey(k)).ToList();
        var unexpected = renamed.Where(kv => !expected.ContainsKey(kv.Key)).Select(kv => kv.Value.FileKey).ToList();
        var different = expected.Where(kv => renamed.TryGetValue(kv.Key, out var f) && !f.Shape.SequenceEqual(kv.Value))
            .Select(kv => $"{renamed[kv.Key].FileKey} [{string.Join(", ", renamed[kv.Key].Shape)}] vs [{string.Join(", ", kv.Value)}]").ToList();
        if (missing.Count + unexpected.Count + different.Count == 0)
            return network.TrainableParameterCount;
        var problems = new List<string>();
        if (missing.Count > 0)
            problems.Add($"missing {Few(missing)}");
        if (unexpected.Count > 0)
            problems.Add($"not expected {Few(unexpected)}");
        if (different.Count > 0)
            problems.Add($"other shapes {Few(different)}");
        throw new InvalidDataException(
            $"'{model.File.Name}' looks like {model.Architecture} ({model.Detection.Variant}, x{model.Scale}) but its tensors do not all fit that network: " +
            string.Join("; ", problems) + ".");
    }

    private static string Unknown(WeightsFile file, IReadOnlyDictionary<string, long[]> shapes)
    {
        var closest = NetworkFactory.All
            .Where(d => d.MarkerKeys.Count > 0)
            .Select(d => (d.Architecture, Present: d.MarkerKeys.Where(shapes.ContainsKey).ToList(), Missing: d.MarkerKeys.Where(k => !shapes.ContainsKey(k)).ToList(), d.MarkerKeys.Count))
            .Where(c => c.Present.Count > 0)
            .OrderByDescending(c => c.Present.Count / (double)c.Count)
            .Take(3)
            .Select(c => $"{c.Architecture} (has {Few(c.Present)}; {(c.Missing.Count == 0 ? "all its marker keys, but not their shapes" : $"lacks {Few(c.Missing)}")})")
            .ToList();
        var families = NetworkFactory.All.Where(d => d.MarkerKeys.Count > 0).Select(d => d.Architecture.ToString());
        return $"'{file.Name}' is not a network this library recognises from its keys (it detects {string.Join(", ", families)}). " +
               (closest.Count > 0 ? $"Closest: {string.Join("; ", closest)}. " : "No detected family shares a key with it. ") +
               $"Its first keys: {Few(shapes.Take(6).Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value)}]").ToList())} ({shapes.Count} tensors). " +
               "For a network of the zoo saved by other code, name it (sr: --arch and --scale).";
    }

    private static string Few(IReadOnlyList<string> items)
        => string.Join(", ", items.Take(6)) + (items.Count > 6 ? $" and {items.Count - 6} more" : "");
}
