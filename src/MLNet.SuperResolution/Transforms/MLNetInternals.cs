using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using Microsoft.ML;

namespace MLNet.SuperResolution;

/// <summary>
/// The guard in front of ML.NET's internal members. The library compiles against publicized copies of
/// Microsoft.ML.Core and Microsoft.ML.Data (build/Publicize) and calls some of their non-public members (model
/// save/load, the row-to-row transformer bases) through <c>IgnoresAccessChecksTo</c>. ML.NET does not keep those
/// stable across versions, so before the first use this class resolves every type and member the library references
/// in ML.NET's assemblies, against the ML.NET actually loaded, and reports all that are missing at once in a message
/// that names both versions, instead of a <see cref="MissingMethodException"/> deep inside <c>Model.Load</c>.
/// </summary>
internal static class MLNetInternals
{
    /// <summary>The ML.NET version the library was built and tested against (Directory.Build.props, MicrosoftMLVersion).</summary>
    public static string BuiltAgainst { get; } =
        typeof(MLNetInternals).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "MicrosoftMLVersion")?.Value ?? "unknown";

    /// <summary>The ML.NET version loaded in this process (Microsoft.ML.Data's informational version, without the commit).</summary>
    public static string Loaded { get; } = VersionOf(typeof(MLContext).Assembly);

    private static readonly Lazy<string?> Problem = new(() => Check(typeof(MLNetInternals).Assembly), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws a clear <see cref="InvalidOperationException"/> when the loaded ML.NET lacks a member the library uses; checks once per process.</summary>
    public static void EnsureAvailable()
    {
        if (Problem.Value is { } problem)
            throw new InvalidOperationException(problem);
    }

    /// <summary>The message for what <paramref name="library"/> references in ML.NET and the loaded ML.NET lacks; null when all is there.</summary>
    internal static string? Check(Assembly library)
    {
        var missing = MissingReferences(library);
        if (missing.Count == 0)
            return null;
        return $"MLNet.SuperResolution was built against ML.NET {BuiltAgainst} and uses members of ML.NET that are not public API; " +
               $"the ML.NET loaded in this process ({Loaded}) lacks {missing.Count} of them: {string.Join("; ", missing.Take(8))}" +
               (missing.Count > 8 ? $"; and {missing.Count - 8} more" : "") +
               $". Reference Microsoft.ML and Microsoft.ML.ImageAnalytics {BuiltAgainst} (or a version in the range this package declares), " +
               "or a release of MLNet.SuperResolution built for your ML.NET.";
    }

    /// <summary>Every type and member reference of <paramref name="library"/> into a Microsoft.ML.* assembly that does not resolve, by name.</summary>
    internal static IReadOnlyList<string> MissingReferences(Assembly library)
    {
        var missing = new List<string>();
        var reader = MetadataOf(library);
        if (reader is null)
            return missing;
        var module = library.ManifestModule;
        foreach (var handle in reader.TypeReferences)
        {
            if (!IsMLNet(reader, ScopeOf(reader, handle)))
                continue;
            try
            {
                module.ResolveType(MetadataTokens.GetToken(handle));
            }
            catch (Exception e) when (e is TypeLoadException or MissingMemberException or BadImageFormatException or FileNotFoundException)
            {
                missing.Add(NameOf(reader, handle));
            }
        }

        foreach (var handle in reader.MemberReferences)
        {
            var member = reader.GetMemberReference(handle);
            var parent = ParentType(reader, member.Parent);
            if (parent is not { } type || !IsMLNet(reader, ScopeOf(reader, type)))
                continue;
            try
            {
                module.ResolveMember(MetadataTokens.GetToken(handle));
            }
            catch (ArgumentException)
            {
                // A member of a generic type instantiated with a type parameter needs a generic context to resolve; its
                // type is checked through the type references.
            }
            catch (Exception e) when (e is TypeLoadException or MissingMemberException or BadImageFormatException or FileNotFoundException)
            {
                string kind = member.GetKind() == MemberReferenceKind.Field ? "field" : "method";
                missing.Add($"{kind} {NameOf(reader, type)}.{reader.GetString(member.Name)}");
            }
        }

        // Classes of ours built on ML.NET's classes (the transformer bases) load only when every abstract member they must
        // override is there and what they override still exists with that access.
        foreach (var handle in reader.TypeDefinitions)
        {
            var definition = reader.GetTypeDefinition(handle);
            if (!DerivesFromMLNet(reader, definition.BaseType, depth: 0))
                continue;
            try
            {
                module.ResolveType(MetadataTokens.GetToken(handle));
            }
            catch (Exception e) when (e is TypeLoadException or MissingMemberException or BadImageFormatException or FileNotFoundException)
            {
                missing.Add($"what {reader.GetString(definition.Name)} needs of its ML.NET base class ({e.Message})");
            }
        }

        return missing.Distinct(StringComparer.Ordinal).ToList();
    }

    private static bool DerivesFromMLNet(MetadataReader reader, EntityHandle baseType, int depth)
    {
        if (baseType.IsNil || depth > 32)
            return false;
        return baseType.Kind switch
        {
            HandleKind.TypeReference => IsMLNet(reader, ScopeOf(reader, (TypeReferenceHandle)baseType)),
            HandleKind.TypeSpecification => ParentType(reader, baseType) is { } generic && IsMLNet(reader, ScopeOf(reader, generic)),
            HandleKind.TypeDefinition => DerivesFromMLNet(reader, reader.GetTypeDefinition((TypeDefinitionHandle)baseType).BaseType, depth + 1),
            _ => false,
        };
    }

    private static unsafe MetadataReader? MetadataOf(Assembly library) =>
        library.TryGetRawMetadata(out byte* blob, out int length) ? new MetadataReader(blob, length) : null;

    private static bool IsMLNet(MetadataReader reader, AssemblyReferenceHandle? scope) =>
        scope is { } handle && reader.GetString(reader.GetAssemblyReference(handle).Name).StartsWith("Microsoft.ML", StringComparison.Ordinal);

    private static AssemblyReferenceHandle? ScopeOf(MetadataReader reader, TypeReferenceHandle handle)
    {
        var scope = reader.GetTypeReference(handle).ResolutionScope;
        return scope.Kind switch
        {
            HandleKind.AssemblyReference => (AssemblyReferenceHandle)scope,
            HandleKind.TypeReference => ScopeOf(reader, (TypeReferenceHandle)scope), // nested type
            _ => null,
        };
    }

    /// <summary>The type reference a member reference's parent names: directly, or the generic type of an instantiation.</summary>
    private static TypeReferenceHandle? ParentType(MetadataReader reader, EntityHandle parent)
    {
        if (parent.Kind == HandleKind.TypeReference)
            return (TypeReferenceHandle)parent;
        if (parent.Kind != HandleKind.TypeSpecification)
            return null;
        var blob = reader.GetBlobReader(reader.GetTypeSpecification((TypeSpecificationHandle)parent).Signature);
        if (blob.ReadSignatureTypeCode() != SignatureTypeCode.GenericTypeInstance)
            return null;
        blob.ReadSignatureTypeCode(); // class or value type
        var generic = blob.ReadTypeHandle();
        return generic.Kind == HandleKind.TypeReference ? (TypeReferenceHandle)generic : null;
    }

    private static string NameOf(MetadataReader reader, TypeReferenceHandle handle)
    {
        var type = reader.GetTypeReference(handle);
        string name = reader.GetString(type.Name);
        if (type.ResolutionScope.Kind == HandleKind.TypeReference)
            return NameOf(reader, (TypeReferenceHandle)type.ResolutionScope) + "." + name;
        return type.Namespace.IsNil ? name : reader.GetString(type.Namespace) + "." + name;
    }

    private static string VersionOf(Assembly assembly)
    {
        string? version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return version is null ? assembly.GetName().Version?.ToString() ?? "unknown" : version.Split('+')[0];
    }
}
