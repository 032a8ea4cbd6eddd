using System.Reflection;
using System.Runtime.Loader;
using Mono.Cecil;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// The guard in front of ML.NET's internals (MLNetInternals): silent with the ML.NET we build against, and a clear
/// message naming both versions and the missing member when a member is gone (simulated with a copy of the library
/// whose reference to one ML.NET member is renamed).
/// </summary>
public sealed class MLNetInternalsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sr-internals-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void WithTheMLNetWeBuildAgainst_NothingIsMissing()
    {
        Assert.Empty(MLNetInternals.MissingReferences(typeof(SrModelZoo).Assembly));
        Assert.Null(MLNetInternals.Check(typeof(SrModelZoo).Assembly));
        Assert.Equal(MLNetInternals.BuiltAgainst, MLNetInternals.Loaded);
        MLNetInternals.EnsureAvailable();
    }

    [Theory]
    [InlineData("Microsoft.ML.ModelLoadContext", "CheckAtModel")]
    [InlineData("Microsoft.ML.Runtime.Contracts", "CheckValue")]
    [InlineData("Microsoft.ML.Data.CatalogUtils", "GetEnvironment")]
    public void AMissingMLNetMember_IsNamed_WithBothVersions(string type, string member)
    {
        string copy = Path.Combine(_folder, "MLNet.SuperResolution.dll");
        string original = typeof(SrModelZoo).Assembly.Location;
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(original)!);
        int renamed = 0;
        using (var assembly = AssemblyDefinition.ReadAssembly(original, new ReaderParameters { AssemblyResolver = resolver }))
        {
            // Calls of generic methods reach the reference through an instantiation that Cecil rewrites from the
            // method bodies, so rename in the bodies' operands as well as in the reference table.
            var references = assembly.MainModule.GetMemberReferences().OfType<MethodReference>()
                .Concat(assembly.MainModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody)
                    .SelectMany(m => m.Body.Instructions).Select(i => i.Operand).OfType<MethodReference>()
                    .Select(m => m is GenericInstanceMethod generic ? generic.ElementMethod : m));
            foreach (var reference in references)
            {
                if (reference is not MethodDefinition && reference.DeclaringType.GetElementType().FullName == type && reference.Name == member)
                {
                    reference.Name = member + "GoneInThisVersion";
                    renamed++;
                }
            }

            assembly.Write(copy);
        }

        Assert.True(renamed > 0, $"the library no longer references {type}.{member}: pick another member for this test");
        var context = new AssemblyLoadContext("sr-internals-test", isCollectible: true);
        try
        {
            var library = context.LoadFromAssemblyPath(copy);
            var guard = library.GetType("MLNet.SuperResolution.MLNetInternals", throwOnError: true)!;
            var check = guard.GetMethod("Check", BindingFlags.Static | BindingFlags.NonPublic)!;
            string? message = (string?)check.Invoke(null, [library]);
            Assert.NotNull(message);
            Assert.Contains($"built against ML.NET {MLNetInternals.BuiltAgainst}", message);
            Assert.Contains($"the ML.NET loaded in this process ({MLNetInternals.Loaded}) lacks 1 of them", message);
            Assert.Contains($"method {type}.{member}GoneInThisVersion", message);
            Assert.Contains($"Reference Microsoft.ML and Microsoft.ML.ImageAnalytics {MLNetInternals.BuiltAgainst}", message);

            // The public entry point says the same instead of failing deep inside ML.NET.
            var extensions = library.GetType("MLNet.SuperResolution.SuperResolutionCatalogExtensions", throwOnError: true)!;
            var entry = extensions.GetMethod("SuperResolution", [typeof(Microsoft.ML.MLContext)])!;
            var thrown = Assert.Throws<TargetInvocationException>(() => entry.Invoke(null, [new Microsoft.ML.MLContext(seed: 1)]));
            Assert.IsType<InvalidOperationException>(thrown.InnerException);
            Assert.Equal(message, thrown.InnerException!.Message);
        }
        finally
        {
            context.Unload();
        }
    }
}
