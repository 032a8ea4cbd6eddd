using System.Text;
using MLNet.SuperResolution.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Weights;

/// <summary>
/// Imports PyTorch state_dicts into networks: any file <see cref="WeightsFile"/> reads (the zip and legacy formats of
/// <c>torch.save</c>, safetensors; wrapped in <c>params_ema</c>/<c>state_dict</c>/..., keys prefixed <c>module.</c>),
/// told apart by content, not extension, and read without running anything from the file; every key and shape is
/// checked before anything is copied. Saving writes the zip format through TorchSharp.PyBridge, or safetensors.
/// </summary>
internal static class PyTorchWeights
{
    /// <summary>
    /// Loads a PyTorch <c>state_dict</c> file into <paramref name="module"/>: every key and shape must match. On any
    /// mismatch throws <see cref="InvalidDataException"/> whose message names the file and lists missing keys,
    /// unexpected keys and shape differences; the module is left unchanged then (nothing half-loaded).
    /// </summary>
    public static void Load(torch.nn.Module module, string path) => Load(module, path, skipMismatched: false);

    /// <summary>
    /// Loads a PyTorch <c>state_dict</c> file into <paramref name="module"/>. With <paramref name="skipMismatched"/>
    /// false this is <see cref="Load(torch.nn.Module, string)"/>; with it true, the tensors whose key and shape match
    /// are copied and the rest are left as they are (fine-tuning x3 from x2 weights: everything but the upsampler), and
    /// the keys left out are returned. Throws <see cref="InvalidDataException"/> when not a single tensor matches.
    /// </summary>
    public static IReadOnlyList<string> Load(torch.nn.Module module, string path, bool skipMismatched)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"PyTorch weights file not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Load(module, stream, path, skipMismatched);
    }

    /// <summary>
    /// <see cref="Load(torch.nn.Module, string, bool)"/> from a seekable stream (an embedded resource);
    /// <paramref name="path"/> names it in messages.
    /// </summary>
    public static IReadOnlyList<string> Load(torch.nn.Module module, Stream stream, string path, bool skipMismatched)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stream);
        return Load(module, ReadStateDict(stream, path), path, skipMismatched);
    }

    /// <summary>
    /// Loads an opened weights file into <paramref name="module"/>, its keys renamed by <paramref name="rename"/> (a
    /// detected layout's map onto the network's keys): every key and shape must match, as
    /// <see cref="Load(torch.nn.Module, string)"/>.
    /// </summary>
    public static void Load(torch.nn.Module module, WeightsFile file, Func<string, string>? rename)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(file);
        Load(module, Renamed(file.ReadTensors(), rename), file.Name, skipMismatched: false);
    }

    /// <summary>
    /// Loads initial weights for training <paramref name="architecture"/>: as <see cref="Load(torch.nn.Module, string, bool)"/>,
    /// except that a community model's file in another key layout of that architecture (the original ESRGAN's, say) is
    /// renamed onto the network's keys as detection renames it.
    /// </summary>
    public static IReadOnlyList<string> LoadInitial(torch.nn.Module module, string path, SrArchitecture architecture, bool skipMismatched)
    {
        ArgumentNullException.ThrowIfNull(module);
        var file = WeightsFile.Open(path);
        Func<string, string>? rename = null;
        try
        {
            var detected = ModelDetection.Detect(file);
            if (detected.Architecture == architecture)
                rename = detected.NetworkKey;
        }
        catch (InvalidDataException)
        {
            // Not a layout detection knows (a zoo network's own keys) or another configuration: the keys are taken as they are.
        }

        return Load(module, Renamed(file.ReadTensors(), rename), path, skipMismatched);
    }

    /// <summary>The tensors under the network's keys; on a refusal (two keys meeting) they are disposed.</summary>
    private static Dictionary<string, Tensor> Renamed(Dictionary<string, Tensor> read, Func<string, string>? rename)
    {
        if (rename is null)
            return read;
        try
        {
            return KeyRenaming.Apply(read, rename);
        }
        catch
        {
            foreach (var tensor in read.Values)
                tensor.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="loaded"/> (disposed here) into <paramref name="module"/>; see <see cref="Load(torch.nn.Module, string, bool)"/>.</summary>
    private static IReadOnlyList<string> Load(torch.nn.Module module, Dictionary<string, Tensor> loaded, string path, bool skipMismatched)
    {
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

            if (skipMismatched)
            {
                var matching = target.Keys.Where(k => loaded.TryGetValue(k, out var t) && t.shape.SequenceEqual(target[k].shape)).ToList();
                if (matching.Count == 0)
                    throw new InvalidDataException(
                        $"Not one tensor of the state_dict in '{path}' matches the {moduleType} network in name and shape (nothing was loaded). " +
                        "Check that the file was saved from the same architecture and network options.");
                using (no_grad())
                {
                    foreach (string key in matching)
                        target[key].copy_(loaded[key]);
                }

                return target.Keys.Except(matching).Concat(unexpected).ToList();
            }

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

            return Array.Empty<string>();
        }
        finally
        {
            foreach (var tensor in loaded.Values)
                tensor.Dispose();
        }
    }

    /// <summary>
    /// Writes <paramref name="module"/>'s state_dict for PyTorch: safetensors when <paramref name="path"/> ends in
    /// <c>.safetensors</c>, else the zip format of <c>torch.save</c> (<c>.pth</c>, <c>.pt</c>); atomically (a temporary
    /// file, then a rename), with <paramref name="metadata"/> where the format keeps it (<see cref="WeightsWriter"/>).
    /// </summary>
    public static void Save(torch.nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        WeightsWriter.Save(module.state_dict(), path, metadata);
    }

    /// <summary>
    /// Reads a weights file (torch zip, legacy torch, safetensors; <see cref="WeightsFile"/>) into canonical key -> tensor
    /// (CPU float32; the caller disposes them), with clear errors for anything else. For loss networks whose layers are
    /// built from the file (the perceptual loss's VGG19).
    /// </summary>
    internal static Dictionary<string, Tensor> ReadStateDict(string path) => WeightsFile.Open(path).ReadTensors();

    /// <summary>Reads a weights file from a seekable stream into canonical key -> tensor.</summary>
    private static Dictionary<string, Tensor> ReadStateDict(Stream stream, string path) => WeightsFile.Open(stream, path).ReadTensors();

    private static string Shape(Tensor t) => $"[{string.Join(",", t.shape)}]";
}
