using System.Runtime.CompilerServices;

// The library compiles against publicized copies of these assemblies (build/Publicize.targets) to use ML.NET's
// internal model save/load API; this tells the runtime to allow those accesses against the real assemblies.
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
[assembly: InternalsVisibleTo("MLNet.SuperResolution.Tests")]
// The `sr` tool shares the library's atomic file writing.
[assembly: InternalsVisibleTo("sr")]
// The benchmarks (benchmarks/) build the internal network types directly.
[assembly: InternalsVisibleTo("TorchCompare")]
[assembly: InternalsVisibleTo("MLNet.SuperResolution.Benchmarks")]

namespace System.Runtime.CompilerServices
{
    /// <summary>Read by the runtime: the named assembly's non-public members may be used by this assembly.</summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        public string AssemblyName { get; }
    }
}
