using System.Reflection;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>The library is AnyCPU: an arm64 or x86 process can load it (with a backend for its platform); only apps pin x64.</summary>
public sealed class AnyCpuTests
{
    [Fact]
    public void TheLibraryAssembly_IsNotTiedToX64()
    {
        typeof(SrModelZoo).Assembly.ManifestModule.GetPEKind(out var kind, out var machine);
        Assert.Equal(PortableExecutableKinds.ILOnly, kind); // not PE32Plus-only (x64) nor Required32Bit
        Assert.Equal(ImageFileMachine.I386, machine); // what AnyCPU IL reports
    }

    [Fact]
    public void TheTestProcess_IsX64_AsTheBackendIs()
    {
        typeof(AnyCpuTests).Assembly.ManifestModule.GetPEKind(out var kind, out var machine);
        Assert.Equal(ImageFileMachine.AMD64, machine);
        Assert.True(kind.HasFlag(PortableExecutableKinds.PE32Plus));
    }
}
