using TorchSharp;

namespace MLNet.SuperResolution.Weights;

/// <summary>Imports PyTorch state_dicts (torch.save zip files). STUB: to be implemented (Architectures helper).</summary>
internal static class PyTorchWeights
{
    /// <summary>
    /// Loads a PyTorch <c>state_dict</c> file into <paramref name="module"/>: every key and shape must match. On any
    /// mismatch throws <see cref="InvalidDataException"/> whose message names the file and lists missing keys,
    /// unexpected keys and shape differences; the module is left unchanged then (nothing half-loaded).
    /// </summary>
    public static void Load(torch.nn.Module module, string path) => throw new NotImplementedException();
}
