using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.SuperResolution;

/// <summary>Clear errors for model formats this version cannot read, before ML.NET's own check.</summary>
internal static class ModelVersions
{
    /// <summary>
    /// Throws when the component at <paramref name="ctx"/> was saved by a newer format than <paramref name="version"/>
    /// reads. ML.NET's own message for this names ML.NET's assembly version instead of this library's, swaps the
    /// two format versions, and suggests retraining with an older ML.NET.
    /// </summary>
    public static void CheckNotNewer(IExceptionContext host, ModelLoadContext ctx, VersionInfo version, string component)
    {
        var header = ctx.Header;
        if (header.ModelSignature != version.ModelSignature || header.ModelVerReadable <= version.VerWrittenCur)
            return;
        var assembly = typeof(ModelVersions).Assembly;
        string libraryVersion = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? assembly.GetName().Version?.ToString() ?? "?";
        throw host.ExceptDecode(
            $"The model's {component} was saved by a newer version of MLNet.SuperResolution: its format is 0x{header.ModelVerWritten:X8}, " +
            $"which needs a reader of format 0x{header.ModelVerReadable:X8} or later, and MLNet.SuperResolution {libraryVersion} reads formats " +
            $"0x{version.VerWeCanReadBack:X8} to 0x{version.VerWrittenCur:X8}. Update the MLNet.SuperResolution package to load it.");
    }
}
