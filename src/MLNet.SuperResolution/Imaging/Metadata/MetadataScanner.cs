using System.Globalization;
using System.IO.Compression;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>One metadata item kept within the limits: where it is in the file and what it takes once read.</summary>
/// <param name="Description">What it is, e.g. "PNG zTXt text 'Comment'".</param>
/// <param name="Position">Where its bytes start in the file.</param>
/// <param name="StoredBytes">Its bytes in the file (compressed, for compressed chunks; all its segments together).</param>
/// <param name="ReadBytes">What it takes once read (inflated; for EXIF, with every tag's value).</param>
internal sealed record MetadataItem(string Description, long Position, long StoredBytes, long ReadBytes);

/// <summary>What the metadata scan of one file found and decided.</summary>
/// <param name="Kept">The items within the limits, in file order.</param>
/// <param name="Dropped">Why items were dropped, one line per distinct reason with its count (at most <see cref="MetadataBudget.ListedReasons"/>, then how many more).</param>
/// <param name="DroppedCount">How many items are beyond the limits (all of them, listed or not).</param>
/// <param name="Orientation">The EXIF orientation (1-8) of a kept EXIF item, or of a TIFF's first directory.</param>
/// <param name="LargestFrame">The largest frame a container declares apart from its image size (a GIF's first image
/// descriptor, which decoders allocate for even when it exceeds the logical screen); (0, 0) when none.</param>
internal sealed record MetadataReport(IReadOnlyList<MetadataItem> Kept, IReadOnlyList<string> Dropped, int DroppedCount, ushort? Orientation,
    (int Width, int Height) LargestFrame = default)
{
    /// <summary>Nothing found.</summary>
    public static readonly MetadataReport Empty = new([], [], 0, null);

    /// <summary>The warning for the file when items were dropped; null otherwise.</summary>
    public string? DropWarning(string name)
        => DroppedCount == 0
            ? null
            : $"'{name}': {DroppedCount:N0} metadata item(s) skipped unread ({ListDropped()}); the pixels are used without them.";

    /// <summary>The refusal for the file when items are beyond the limits.</summary>
    public string Refusal(string name)
        => $"'{name}' is refused: it carries metadata beyond the limits ({ListDropped()}) and the limits say to refuse such files " +
           "(SrMetadataLimits.WhenExceeded is Refuse); raise the limits only for files you trust, or let such metadata be skipped.";

    private string ListDropped() => string.Join("; ", Dropped);
}

/// <summary>
/// Decides, item by item in file order, what is within <see cref="SrMetadataLimits"/>: an item is measured only up to
/// what it may still take (so a bomb is inflated no further than the limit), and once the count or the total is spent
/// the rest are dropped without being measured at all. The work of a scan is thus bounded by the file's size plus the
/// total limit.
/// </summary>
internal sealed class MetadataBudget(SrMetadataLimits limits)
{
    /// <summary>Most distinct reasons named in a warning.</summary>
    public const int ListedReasons = 6;

    private readonly List<MetadataItem> _kept = [];
    private readonly List<(string Reason, int Count)> _reasons = [];
    private int _droppedCount, _offered;
    private long _used;

    public SrMetadataLimits Limits => limits;

    /// <summary>The largest frame declared so far (see <see cref="MetadataReport.LargestFrame"/>).</summary>
    public (int Width, int Height) LargestFrame { get; private set; }

    /// <summary>Records a frame the container declares.</summary>
    public void NoteFrame(int width, int height)
    {
        if ((long)width * height > (long)LargestFrame.Width * LargestFrame.Height)
            LargestFrame = (width, height);
    }

    /// <summary>
    /// Offers one item. <paramref name="measure"/> gets the most bytes the item may take and returns what it takes,
    /// or any larger number once it has counted past that; null means the item takes <paramref name="storedBytes"/>.
    /// An item whose measure throws <see cref="InvalidDataException"/> (e.g. a corrupt zlib stream) is dropped as corrupt.
    /// </summary>
    /// <returns>Whether the item is kept.</returns>
    public bool Offer(string description, long position, long storedBytes, Func<long, long>? measure = null)
    {
        if (_offered >= limits.MaxItems)
            return Drop(description, $"beyond the first {limits.MaxItems:N0} metadata items (the item limit)");
        _offered++;
        long room = limits.MaxTotalBytes - _used;
        if (room <= 0 && limits.MaxTotalBytes > 0)
            return Drop(description, $"the {Bytes(limits.MaxTotalBytes)} total limit was already spent");
        long cap = Math.Min(limits.MaxItemBytes, room);
        long size;
        try
        {
            size = measure is null ? storedBytes : measure(cap);
        }
        catch (InvalidDataException)
        {
            return Drop(description, "corrupt");
        }

        string read = measure is not null && size > cap ? $"more than {Bytes(cap)}" : Bytes(size);
        if (size > limits.MaxItemBytes)
            return Drop(description, $"{read} once read, above the {Bytes(limits.MaxItemBytes)} per-item limit");
        if (size > room)
            return Drop(description, $"{read} once read, above the {Bytes(room)} left of the {Bytes(limits.MaxTotalBytes)} total limit");
        _used += size;
        _kept.Add(new MetadataItem(description, position, storedBytes, size));
        return true;
    }

    public MetadataReport Report(ushort? orientation)
    {
        var listed = _reasons.Select(r => r.Count == 1 ? r.Reason : $"{r.Reason} (x{r.Count:N0})").ToList();
        int unlisted = _droppedCount - _reasons.Sum(r => r.Count);
        if (unlisted > 0)
            listed.Add($"{unlisted:N0} more");
        return new MetadataReport(_kept, listed, _droppedCount, orientation, LargestFrame);
    }

    private bool Drop(string description, string why)
    {
        string reason = $"{description}: {why}";
        int index = _reasons.FindIndex(r => r.Reason == reason);
        if (index >= 0)
            _reasons[index] = (reason, _reasons[index].Count + 1);
        else if (_reasons.Count < ListedReasons)
            _reasons.Add((reason, 1));
        _droppedCount++;
        return false;
    }

    /// <summary>A byte count for people: B, KB, MiB.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.#} MiB"),
    };
}

/// <summary>Thrown by a format's walk when the file's structure is hostile or cut off in a way the decoder would not survive bounded.</summary>
internal sealed class HostileStructureException(string message) : Exception(message);

/// <summary>
/// The metadata scan that runs before an image file is identified or decoded: the container is walked by its chunks,
/// segments, extensions or directories (PNG, JPEG, WebP, GIF, TIFF; BMP, TGA and PBM carry nothing a decoder reads),
/// each metadata item is measured within <see cref="SrMetadataLimits"/> and kept or dropped, and the structural checks
/// that no option relaxes are made (chunks that declare more than the file holds, TIFF tags that expand far beyond the
/// file). Never throws for a malformed file except to refuse it: what it cannot parse it leaves to the decoder.
/// </summary>
internal static class MetadataScanner
{
    /// <summary>Scans <paramref name="stream"/> from its position (left as found).</summary>
    /// <exception cref="InvalidDataException">The file is refused: naming it and why.</exception>
    public static MetadataReport Scan(Stream stream, string name, SrMetadataLimits limits)
    {
        var file = new FileBytes(stream);
        var budget = new MetadataBudget(limits);
        Span<byte> head = stackalloc byte[12];
        head.Clear();
        file.TryRead(0, head[..(int)Math.Min(12, file.Length)]);
        MetadataReport report;
        try
        {
            ushort? orientation =
                head.StartsWith(PngMetadata.Signature) ? PngMetadata.Scan(file, budget)
                : head.StartsWith(JpegMetadata.Signature) ? JpegMetadata.Scan(file, budget)
                : head.StartsWith("RIFF"u8) && head[8..].SequenceEqual("WEBP"u8) ? WebpMetadata.Scan(file, budget)
                : head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8) ? GifMetadata.Scan(file, budget)
                : TiffDirectories.IsTiffHeader(head) ? TiffMetadata.Scan(file, budget)
                : null;
            report = budget.Report(orientation);
        }
        catch (HostileStructureException e)
        {
            throw new InvalidDataException($"'{name}' is refused: {e.Message}", e);
        }

        if (report.DroppedCount > 0 && limits.WhenExceeded == SrOversizedMetadata.Refuse)
            throw new InvalidDataException(report.Refusal(name));
        return report;
    }

    /// <summary>
    /// How many bytes a zlib stream inflates to, counting no further than <paramref name="cap"/> + 1 (the inflated
    /// bytes go through a small buffer and are not kept).
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is not valid zlib data.</exception>
    public static long InflatedSize(Stream compressed, long cap)
    {
        using var inflate = new ZLibStream(compressed, CompressionMode.Decompress);
        var buffer = new byte[Math.Clamp(cap + 1, 1, 1 << 16)];
        long total = 0;
        int n;
        while (total <= cap && (n = inflate.Read(buffer, 0, (int)Math.Min(buffer.Length, cap + 1 - total))) > 0)
            total += n;
        return total;
    }

    /// <summary>Measures an EXIF block: its bytes plus every value its tags would make a decoder read.</summary>
    public static Func<long, long> ExifMeasure(IByteSource exif, Action<ushort?> orientation)
        => cap =>
        {
            var walk = TiffDirectories.Walk(exif, Math.Max(0, cap - exif.Length), maxDirectories: 64);
            orientation(walk.Valid ? walk.Orientation : null);
            return exif.Length + walk.ReadBytes;
        };
}
