using System.Buffers.Binary;
using System.Text;

namespace MLNet.SuperResolution.Imaging.Metadata;

/// <summary>
/// WebP's RIFF chunks (Google's WebP container specification): ICCP, EXIF and XMP are metadata items; every chunk's
/// declared size is checked against the bytes the file holds, because ImageSharp 2.1.13 allocates image and alpha
/// chunks (src/ImageSharp/Formats/Webp/WebpDecoderCore.cs) by their declared size, up to 4 GB from a 100-byte file.
/// A metadata chunk that declares more than the file holds is dropped as corrupt; any other is refused.
/// </summary>
internal static class WebpMetadata
{
    public static ushort? Scan(FileBytes file, MetadataBudget budget)
    {
        ushort? orientation = null;
        Span<byte> header = stackalloc byte[8];
        for (long at = 12; file.TryRead(at, header);)
        {
            string type = Encoding.ASCII.GetString(header[..4]);
            long length = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            long data = at + 8, remaining = file.Length - data;
            bool fits = length <= remaining;
            switch (type)
            {
                case "ICCP":
                    budget.Offer("WebP ICCP colour profile", data, length, fits ? null : Corrupt);
                    break;
                case "XMP ":
                    budget.Offer("WebP XMP", data, length, fits ? null : Corrupt);
                    break;
                case "EXIF":
                {
                    ushort? found = null;
                    if (budget.Offer("WebP EXIF", data, length, fits ? MetadataScanner.ExifMeasure(new SliceBytes(file, data, length), o => found = o) : Corrupt))
                        orientation ??= found;
                    break;
                }

                default:
                    if (!fits)
                        throw new HostileStructureException(
                            $"its WebP {Printable(type)} chunk declares {MetadataBudget.Bytes(length)} where {MetadataBudget.Bytes(remaining)} remain (a cut-off or crafted file).");
                    break;
            }

            if (!fits)
                break;
            at = data + length + (length & 1); // chunks are padded to an even size
        }

        return orientation;
    }

    private static long Corrupt(long cap) => throw new InvalidDataException("declares more bytes than the file holds");

    private static string Printable(string fourCc) => "'" + string.Concat(fourCc.Select(c => c is >= ' ' and < '\x7F' ? c : '?')) + "'";
}
