using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution;

/// <summary>What <see cref="SrImageFiles.Check"/> found in an image file that may be read.</summary>
/// <param name="Width">Width in pixels, from the header.</param>
/// <param name="Height">Height in pixels, from the header.</param>
/// <param name="Warning">What a reader skips (metadata beyond the limits), naming the file; null when nothing.</param>
public sealed record SrImageFileCheck(int Width, int Height, string? Warning);

/// <summary>
/// Checks image files the way <see cref="SuperResolutionUpscaler"/> and the <c>sr</c> tool do before they decode
/// anything, for files that go elsewhere, e.g. into ML.NET's <c>LoadImages</c> (SkiaSharp, which reads no text
/// metadata and decodes one frame, but checks no pixel count): the format is known, the pixel count from the header is
/// within a limit, and the metadata within <see cref="SrMetadataLimits"/>. Nothing is decoded; the check reads the
/// file's container structure, inflating compressed metadata no further than the limits.
/// </summary>
/// <example>
/// <code>
/// var usable = files.Where(f => { try { SrImageFiles.Check(f); return true; } catch (InvalidDataException) { return false; } });
/// </code>
/// </example>
public static class SrImageFiles
{
    /// <summary>The default pixel limit: 100 megapixels (as <see cref="SuperResolutionUpscaler.MaxInputPixels"/>).</summary>
    public const long DefaultMaxPixels = ImageFiles.DefaultMaxPixels;

    /// <summary>Checks one file; a file that passes can be read within the limits (its warning says what would be skipped).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">Largest width x height accepted.</param>
    /// <param name="metadataLimits">Bounds on its metadata; default <see cref="SrMetadataLimits"/>'s defaults.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not an image in a supported format, above the pixel limit, hostile in its
    /// structure, or carrying metadata beyond limits that say to refuse: the message names the file and says why.</exception>
    public static SrImageFileCheck Check(string path, long maxPixels = DefaultMaxPixels, SrMetadataLimits? metadataLimits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        var header = ImageFiles.CheckHeader(path, maxPixels, metadataLimits?.Clone());
        return new SrImageFileCheck(header.Width, header.Height, header.Warning);
    }
}
