using System.Collections;
using System.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>
/// Imports PyTorch state_dicts (the zip files <c>torch.save(model.state_dict(), path)</c> writes), reading them with
/// TorchSharp.PyBridge's <c>PyTorchUnpickler.UnpickleStateDict</c> and checking every key and shape before copying.
/// </summary>
internal static class PyTorchWeights
{
    /// <summary>
    /// Loads a PyTorch <c>state_dict</c> file into <paramref name="module"/>: every key and shape must match. On any
    /// mismatch throws <see cref="InvalidDataException"/> whose message names the file and lists missing keys,
    /// unexpected keys and shape differences; the module is left unchanged then (nothing half-loaded).
    /// </summary>
    public static void Load(torch.nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"PyTorch weights file not found: {path}", path);

        Dictionary<string, Tensor> loaded = ReadStateDict(path);
        try
        {
            var target = module.state_dict();
            string moduleType = module.GetType().Name;

            var missing = target.Keys.Where(k => !loaded.ContainsKey(k)).ToList();
            var unexpected = loaded.Keys.Where(k => !target.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
            var shapes = target.Keys
                .Where(loaded.ContainsKey)
                .Where(k => !loaded[k].shape.SequenceEqual(target[k].shape))
                .Select(k => $"{k} file {Shape(loaded[k])} vs network {Shape(target[k])}")
                .ToList();

            if (missing.Count + unexpected.Count + shapes.Count > 0)
            {
                var problems = new List<string>();
                if (missing.Count > 0)
                    problems.Add($"missing: {string.Join(", ", missing)}");
                if (unexpected.Count > 0)
                    problems.Add($"unexpected: {string.Join(", ", unexpected)}");
                if (shapes.Count > 0)
                    problems.Add($"shape: {string.Join(", ", shapes)}");
                var message = new StringBuilder()
                    .Append($"The state_dict in '{path}' does not match the {moduleType} network (nothing was loaded). ")
                    .Append(string.Join("; ", problems))
                    .Append(". Check that the file was saved from the same architecture, scale and number of channels " +
                            "(1 = Y, 3 = RGB) as the network it is loaded into.");
                throw new InvalidDataException(message.ToString());
            }

            using (no_grad())
            {
                foreach (var (key, destination) in target)
                    destination.copy_(loaded[key]);
            }
        }
        finally
        {
            foreach (var tensor in loaded.Values)
                tensor.Dispose();
        }
    }

    /// <summary>Reads a torch.save zip state_dict into key -> tensor, with clear errors for anything else.</summary>
    private static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> signature = stackalloc byte[4];
        if (stream.ReadAtLeast(signature, 4, throwOnEndOfStream: false) < 4
            || signature[0] != 0x50 || signature[1] != 0x4B || signature[2] != 0x03 || signature[3] != 0x04)
        {
            throw new InvalidDataException(
                $"'{path}' is not a PyTorch state_dict in the zip format that torch.save writes (PyTorch >= 1.6). " +
                "Re-save it in Python with torch.save(model.state_dict(), path).");
        }

        stream.Seek(0, SeekOrigin.Begin);
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException(
                $"Could not read '{path}' as a PyTorch state_dict ({e.GetType().Name}: {e.Message}). It must hold " +
                "torch.save(model.state_dict(), path), a flat mapping of names to tensors, not a whole model.", e);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var notTensors = new List<string>();
        foreach (DictionaryEntry entry in table)
        {
            string key = entry.Key?.ToString() ?? string.Empty;
            if (entry.Value is Tensor tensor)
                result[key] = tensor;
            else
                notTensors.Add(key);
        }

        if (notTensors.Count > 0)
        {
            foreach (var tensor in result.Values)
                tensor.Dispose();
            throw new InvalidDataException(
                $"'{path}' is not a flat PyTorch state_dict: the entries {string.Join(", ", notTensors)} are not " +
                "tensors (a training checkpoint?). Save model.state_dict() itself.");
        }

        return result;
    }

    private static string Shape(Tensor t) => $"[{string.Join(",", t.shape)}]";
}
