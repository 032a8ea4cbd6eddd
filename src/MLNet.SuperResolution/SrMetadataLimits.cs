namespace MLNet.SuperResolution;

/// <summary>What happens to an image file whose metadata goes beyond <see cref="SrMetadataLimits"/>.</summary>
public enum SrOversizedMetadata
{
    /// <summary>
    /// The metadata items beyond the limits are skipped unread, a warning names the file and each item, and the pixels
    /// are upscaled. The default.
    /// </summary>
    Drop = 0,

    /// <summary>The file is refused with an <see cref="InvalidDataException"/> that names it and the items.</summary>
    Refuse = 1,
}

/// <summary>
/// Bounds on the metadata of an image file read by the library (EXIF, XMP, ICC profiles, PNG text chunks, GIF comments
/// and application extensions, IPTC, JPEG comments), checked before anything is inflated or decoded: a crafted file can
/// carry a compressed text chunk that inflates to gigabytes, a profile spread over thousands of segments, or EXIF tags
/// that make a decoder copy one value thousands of times. Sizes are what the item would take once read: inflated bytes
/// for compressed chunks, the bytes carried for the rest, and for EXIF its own bytes plus every tag's value counted
/// each time a tag points at it. Metadata within the limits is read by the library's own bounded reader (today only
/// the EXIF orientation is used); the image decoder never parses metadata itself.
/// </summary>
/// <remarks>
/// The defaults (8 MiB per item, 16 MiB in all, 1,024 items) hold real ICC profiles (a few KB to about 1 MB), EXIF (at
/// most 64 KB in a JPEG) and XMP with editing history (rarely above 1 MB). A TIFF's tags are its image structure and are
/// read whole: a TIFF is refused, whatever <see cref="WhenExceeded"/> says, when its tag values add up to more than its
/// file size plus <see cref="MaxTotalBytes"/>, and so is any file whose chunks declare more bytes than it holds.
/// </remarks>
public sealed class SrMetadataLimits
{
    /// <summary>The default <see cref="MaxItemBytes"/>: 8 MiB.</summary>
    public const long DefaultMaxItemBytes = 8L << 20;

    /// <summary>The default <see cref="MaxTotalBytes"/>: 16 MiB.</summary>
    public const long DefaultMaxTotalBytes = 16L << 20;

    /// <summary>The default <see cref="MaxItems"/>: 1,024.</summary>
    public const int DefaultMaxItems = 1024;

    private long _maxItemBytes = DefaultMaxItemBytes;
    private long _maxTotalBytes = DefaultMaxTotalBytes;
    private int _maxItems = DefaultMaxItems;

    /// <summary>Largest size of one metadata item once read (e.g. one PNG text chunk inflated). Default 8 MiB.</summary>
    public long MaxItemBytes
    {
        get => _maxItemBytes;
        set => _maxItemBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The per-item metadata limit must be 0 or more bytes.");
    }

    /// <summary>Largest size of all the metadata of one file once read. Default 16 MiB.</summary>
    public long MaxTotalBytes
    {
        get => _maxTotalBytes;
        set => _maxTotalBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The total metadata limit must be 0 or more bytes.");
    }

    /// <summary>Most metadata items read from one file; those after it count as beyond the limits. Default 1,024.</summary>
    public int MaxItems
    {
        get => _maxItems;
        set => _maxItems = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The metadata item count limit must be 0 or more.");
    }

    /// <summary>Skip what is beyond the limits with a warning (default), or refuse the file.</summary>
    public SrOversizedMetadata WhenExceeded { get; set; } = SrOversizedMetadata.Drop;

    /// <summary>A copy, so that later changes to an options object do not affect a reader that took it.</summary>
    public SrMetadataLimits Clone() => (SrMetadataLimits)MemberwiseClone();
}

/// <summary>A warning about an input image that was still processed (e.g. metadata beyond <see cref="SrMetadataLimits"/> skipped).</summary>
/// <param name="source">The file, or "the input stream".</param>
/// <param name="message">What was skipped and why, naming the file.</param>
public sealed class SrWarningEventArgs(string source, string message) : EventArgs
{
    /// <summary>The file the warning is about, or "the input stream".</summary>
    public string Source { get; } = source;

    /// <summary>The warning, naming the file.</summary>
    public string Message { get; } = message;
}

/// <summary>How far a tiled upscale is (<see cref="SuperResolutionUpscaler.TileProgress"/>).</summary>
/// <param name="tilesDone">Tiles finished so far, 1 to <paramref name="tileCount"/>.</param>
/// <param name="tileCount">Tiles of the current image.</param>
public sealed class SrTileProgressEventArgs(int tilesDone, int tileCount) : EventArgs
{
    /// <summary>Tiles finished so far.</summary>
    public int TilesDone { get; } = tilesDone;

    /// <summary>Tiles of the current image.</summary>
    public int TileCount { get; } = tileCount;
}
