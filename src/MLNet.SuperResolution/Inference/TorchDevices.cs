using Microsoft.ML.Runtime;
using TorchSharp;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Turns the user's device option ("cpu", "cuda", "cuda:1"), or the ML.NET context's GPU settings when none is given,
/// into a torch device, with clear errors. The context rule follows ML.NET's TorchSharp trainers
/// (src/Microsoft.ML.TorchSharp/Utils/TorchUtils.cs, <c>InitializeDevice</c>), with the device id honoured.
/// </summary>
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

    /// <summary>
    /// The device of an ML.NET component: the one named in <paramref name="requested"/>, or, when that is null, the
    /// ML.NET context's choice as ML.NET's own TorchSharp trainers make it: <c>MLContext.GpuDeviceId</c> null runs on the
    /// CPU; set, it runs on that CUDA device when TorchSharp has CUDA, else on the CPU if <c>MLContext.FallbackToCpu</c>
    /// is true, else fails with a message that says what to change.
    /// </summary>
    /// <returns>The torch device and its name ("cpu", "cuda:1").</returns>
    public static (torch.Device Device, string Name) Resolve(string? requested, IHostEnvironment env)
    {
        if (!string.IsNullOrWhiteSpace(requested))
            return (Parse(requested), requested.Trim().ToLowerInvariant());
        TorchBackend.EnsureLoaded();
        var (gpu, fallback) = env is IHostEnvironmentInternal context ? (context.GpuDeviceId, context.FallbackToCpu) : (null, true);
        if (gpu is not { } id)
            return (torch.CPU, "cpu");
        if (torch.cuda.is_available())
        {
            int count = torch.cuda.device_count();
            if (id < 0 || id >= count)
                throw new InvalidOperationException($"MLContext.GpuDeviceId is {id}, but TorchSharp sees {count} CUDA device(s) (0 to {count - 1}).");
            return (torch.device(DeviceType.CUDA, id), $"cuda:{id}");
        }

        if (fallback)
            return (torch.CPU, "cpu");
        throw new InvalidOperationException(
            $"MLContext.GpuDeviceId is {id} and MLContext.FallbackToCpu is false, but CUDA is not available to TorchSharp. Reference a CUDA " +
            "libtorch backend package (e.g. libtorch-cuda-12.8-linux-x64) instead of libtorch-cpu-linux-x64, set FallbackToCpu = true to run " +
            "on the CPU when there is no GPU, or name the device in the options (Device = \"cpu\").");
    }
}
