// Row classes shared by the examples (compiled into each example that links this file; see its .csproj).

/// <summary>A row holding one image file path (training data, inputs to upscale).</summary>
internal sealed class PathRow
{
    public string Path { get; set; } = string.Empty;
}

/// <summary>A benchmark image and its MATLAB-made low-resolution version.</summary>
internal sealed class PairRow
{
    public string HighResPath { get; set; } = string.Empty;

    public string LowResPath { get; set; } = string.Empty;
}
