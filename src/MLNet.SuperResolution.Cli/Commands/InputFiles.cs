namespace MLNet.SuperResolution.Cli.Commands;

/// <summary>
/// The image files that command-line inputs name, as shells give them: any number of files, folders and wildcard
/// patterns (quoted, 'photos/*.jpg', or already expanded by the shell), in the order given, each file once.
/// </summary>
internal static class InputFiles
{
    /// <summary>The extensions a folder's files are taken by (case-insensitive).</summary>
    public static readonly IReadOnlyList<string> ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tga", ".tif", ".tiff"];

    /// <summary>
    /// The files of every input in order: a file itself, a folder's images (sorted by name), a pattern's matches in its
    /// folder (sorted); a file named twice (by two inputs, or by a file and its folder) is kept where it first came.
    /// Throws <see cref="FileNotFoundException"/> or <see cref="DirectoryNotFoundException"/> naming an input that is
    /// neither a file, a folder nor a pattern in an existing folder.
    /// </summary>
    public static List<string> Resolve(IEnumerable<string> inputs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (string input in inputs)
            foreach (string file in Resolve(input))
                if (seen.Add(Path.GetFullPath(file)))
                    files.Add(file);
        return files;
    }

    /// <summary>The files one input names: itself, the images of a folder (sorted), or a wildcard pattern's matches in its folder.</summary>
    public static List<string> Resolve(string input)
    {
        if (File.Exists(input))
            return [input];
        if (Directory.Exists(input))
            return Directory.GetFiles(input).Where(IsImage).Order(StringComparer.Ordinal).ToList();
        string pattern = Path.GetFileName(input);
        if (pattern.IndexOfAny(['*', '?']) < 0)
            throw new FileNotFoundException($"Input not found: {input}");
        string folder = Path.GetDirectoryName(input) is { Length: > 0 } directory ? directory : ".";
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Folder not found: {folder}");
        return Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>"'photos/'" for one input, "the 3 inputs" for more: how messages name what was given.</summary>
    public static string Describe(IReadOnlyList<string> inputs) => inputs.Count == 1 ? $"'{inputs[0]}'" : $"the {inputs.Count} inputs";

    /// <summary>Whether a path has one of <see cref="ImageExtensions"/>.</summary>
    public static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());
}
