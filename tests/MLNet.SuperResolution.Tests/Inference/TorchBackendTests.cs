using MLNet.SuperResolution.Inference;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>
/// When TorchSharp's backend cannot load, the first call says what the application lacks. The failures are TorchSharp's
/// own wording (a missing backend package, a libstdc++ too old); build/consumer/run.sh shows the first in a real app.
/// </summary>
public sealed class TorchBackendTests
{
    [Fact]
    public void AMissingBackendPackage_NamesThePackagesToAdd()
    {
        var failure = new TypeInitializationException("TorchSharp.torch", new NotSupportedException(
            "This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.0.\n\nConsider referencing one of the combination packages TorchSharp-cpu, ..."));
        string message = TorchBackend.Explain(failure);
        Assert.Contains("needs a libtorch backend package in the application", message);
        Assert.Contains("libtorch-cpu-linux-x64 2.10.0", message);
        Assert.Contains("TorchSharp-cpu 0.107.0", message);
        Assert.Contains("TorchSharp said: ", message);
        Assert.DoesNotContain("\n", message);
    }

    [Fact]
    public void AnOldLibStdCxx_SaysToRebuildWithThePatch()
    {
        var failure = new NotSupportedException("The native library could not be loaded.",
            new DllNotFoundException("/app/runtimes/linux-x64/native/libLibTorchSharp.so: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found"));
        string message = TorchBackend.Explain(failure);
        Assert.Contains("needs a newer libstdc++ than this system has", message);
        Assert.Contains("build or publish the application again", message);
        Assert.Contains("MLNetSrSkipGlibcxxPatch", message);
    }

    [Fact]
    public void HereTheBackendLoads()
    {
        TorchBackend.EnsureLoaded(); // the tests reference libtorch-cpu-linux-x64 and patch it
    }
}
