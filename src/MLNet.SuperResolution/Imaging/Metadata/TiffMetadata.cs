namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>
/// A TIFF file's directories: ImageSharp 2.1.13 reads every tag's value of every directory in the chain
/// (src/ImageSharp/Formats/Tiff/Ifd/DirectoryReader.cs) before it decodes, whatever it is told about metadata, so the
/// tags are the image's structure rather than metadata that can be skipped. A TIFF is refused when what they would
/// make the decoder hold exceeds the file's own size plus <see cref="SrMetadataLimits.MaxTotalBytes"/>: only tags that
/// share values (a crafted file) get there.
/// </summary>
internal static class TiffMetadata
{
    /// <summary>ImageSharp's own bound on the directories of a TIFF's chain.</summary>
    private const int MaxDirectories = 65534;

    public static ushort? Scan(FileBytes file, MetadataBudget budget)
    {
        long allowed = file.Length + budget.Limits.MaxTotalBytes;
        var walk = TiffDirectories.Walk(file, allowed, MaxDirectories);
        if (walk.ReadBytes > allowed)
            throw new HostileStructureException(
                $"its TIFF tags would make the decoder hold more than {MetadataBudget.Bytes(allowed)} (the file's {MetadataBudget.Bytes(file.Length)} " +
                $"plus the {MetadataBudget.Bytes(budget.Limits.MaxTotalBytes)} metadata total limit): tags that point at shared values, a crafted file.");
        return walk.Orientation;
    }
}
