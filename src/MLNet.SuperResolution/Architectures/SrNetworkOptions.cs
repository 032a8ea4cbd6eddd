using System.Text.Json.Serialization;

namespace MLNet.SuperResolution;

/// <summary>
/// Base of the per-network hyper-parameter records (<c>EdsrOptions</c>, <c>RcanOptions</c>, ...), named as BasicSR
/// names them (NumFeat, NumBlock, ResScale, ...). Each record's <c>Paper</c> and <c>Notes</c> give the presets; set
/// <see cref="SuperResolutionOptions.NetworkOptions"/> to a modified copy (<c>EdsrOptions.Paper with { NumBlock = 8 }</c>)
/// for custom hyper-parameters.
/// </summary>
public abstract record SrNetworkOptions
{
    /// <summary>The architecture these options configure.</summary>
    [JsonIgnore]
    public abstract SrArchitecture Architecture { get; }
}

/// <summary>How a network that works on a pre-upscaled image upscales its input.</summary>
public enum SrPreUpsampling
{
    /// <summary>MATLAB bicubic (the papers' choice).</summary>
    Bicubic = 0,

    /// <summary>Bilinear interpolation (as in the founding notes' code).</summary>
    Bilinear = 1,
}
