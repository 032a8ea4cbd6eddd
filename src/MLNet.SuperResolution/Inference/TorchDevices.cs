using TorchSharp;

namespace MLNet.SuperResolution.Inference;

/// <summary>Turns the user's device option ("cpu", "cuda", "cuda:1") into a torch device, with clear errors.</summary>
internal static class TorchDevices
{
    public static torch.Device Parse(string? device)
    {
        TorchBackend.EnsureLoaded();
        string text = string.IsNullOrWhiteSpace(device) ? "cpu" : device.Trim().ToLowerInvariant();
        if (text == "cpu")
            return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"Device '{device}' was requested but CUDA is not available to TorchSharp. Reference a CUDA libtorch backend " +
                    "package (e.g. libtorch-cuda-12.8-linux-x64) instead of libtorch-cpu-linux-x64 in your application, or use Device = \"cpu\".");
            return torch.device(text);
        }

        throw new ArgumentException($"Unknown device '{device}'. Use \"cpu\", \"cuda\" or \"cuda:N\".", nameof(device));
    }
}
