using TorchSharp;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// TorchSharp's native backend, loaded once before the library's first tensor: when it cannot load, the error says
/// what the application lacks (the backend package to add, or a libstdc++ the system does not have) instead of
/// TorchSharp's exception from deep inside the first call.
/// </summary>
internal static class TorchBackend
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads the backend (once); throws <see cref="InvalidOperationException"/> saying what to do when it cannot.</summary>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
            throw new InvalidOperationException(failure.Message, failure.InnerException);
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new InvalidOperationException(Explain(e), e);
        }
    }

    /// <summary>What to do about TorchSharp's failure to load its backend, <paramref name="failure"/>.</summary>
    internal static string Explain(Exception failure)
    {
        string said = string.Join(" ", Flatten(failure).Select(e => e.Message.Split('\n')[0].Trim()).Where(m => m.Length > 0).Distinct().Take(2));
        string everything = string.Join("\n", Flatten(failure).Select(e => e.Message));
        if (everything.Contains("GLIBCXX_", StringComparison.Ordinal))
            return "TorchSharp's native library (libLibTorchSharp.so) needs a newer libstdc++ than this system has (it asks for " +
                   "GLIBCXX_3.4.32; Debian 12 has GLIBCXX_3.4.30). The MLNet.SuperResolution package patches the copy in the " +
                   "application's build and publish output: build or publish the application again (without " +
                   "-p:MLNetSrSkipGlibcxxPatch=true), and deploy that output, or run on a system with GCC 13's libstdc++. " +
                   $"TorchSharp said: {said}";
        if (everything.Contains("doesn't contain a reference to libtorch", StringComparison.Ordinal) || Flatten(failure).Any(e => e is DllNotFoundException))
            return "MLNet.SuperResolution runs its networks on TorchSharp, which needs a libtorch backend package in the application " +
                   "(the library does not choose one for you): add libtorch-cpu-linux-x64 2.10.0 for Linux x64 on the CPU, " +
                   "TorchSharp-cpu 0.107.0 for the CPU on Windows, macOS or Linux, or a CUDA backend (e.g. libtorch-cuda-12.8-linux-x64 " +
                   $"2.10.0). TorchSharp said: {said}";
        return $"TorchSharp could not load its native backend (libtorch), so no network can run: {said}";
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
            yield return current;
    }
}
