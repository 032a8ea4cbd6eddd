namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>Writes a file under a temporary name beside it and renames it into place, so a killed process never leaves a partial file under the final name.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<string> write)
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
}
