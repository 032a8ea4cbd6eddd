namespace MLNet.SuperResolution.IO;

/// <summary>
/// Writes a file under a temporary name beside it and renames it into place, so that a process killed mid-write
/// never leaves a partial file under the final name (output images, model zips, training checkpoints).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Lets <paramref name="write"/> write the temporary file by path (for APIs that take one), then renames it.</summary>
    public static void WriteByPath(string path, Action<string> write)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }

    /// <summary>Lets <paramref name="write"/> write the temporary file as a stream, then renames it.</summary>
    public static void Write(string path, Action<Stream> write)
        => WriteByPath(path, temporary =>
        {
            using var stream = File.Create(temporary);
            write(stream);
        });
}
