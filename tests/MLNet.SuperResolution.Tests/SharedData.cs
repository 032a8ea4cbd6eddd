namespace MLNet.SuperResolution.Tests;

/// <summary>
/// Locates ../shared (the benchmark images, reference weights and probes). Tests that need it call
/// <see cref="Require"/>, which skips the test with a reason when it is absent (users' fresh clones still pass).
/// Set MLNET_SR_SHARED to point elsewhere.
/// </summary>
internal static class SharedData
{
    private static readonly Lazy<string?> Root = new(Find);

    /// <summary>The shared directory, or null when not found.</summary>
    public static string? Directory => Root.Value;

    /// <summary>Path of a file or folder under shared/, skipping the test when it is missing.</summary>
    public static string Require(params string[] relative)
    {
        Skip.If(Root.Value is null, "../shared not found (set MLNET_SR_SHARED); this test needs the benchmark data.");
        string path = Path.Combine(new[] { Root.Value! }.Concat(relative).ToArray());
        Skip.IfNot(File.Exists(path) || System.IO.Directory.Exists(path), $"{path} not found in shared data.");
        return path;
    }

    /// <summary>The repository root (the folder holding MLNet.SuperResolution.sln), found from the test binaries.</summary>
    public static string RepositoryRoot => RepoRoot.Value;

    private static readonly Lazy<string> RepoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLNet.SuperResolution.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"MLNet.SuperResolution.sln not found above {AppContext.BaseDirectory}.");
    });

    private static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("MLNET_SR_SHARED");
        if (!string.IsNullOrEmpty(env) && System.IO.Directory.Exists(env))
            return Path.GetFullPath(env);

        // The repository root's sibling is shared/.
        string candidate = Path.Combine(RepositoryRoot, "..", "shared");
        return System.IO.Directory.Exists(Path.Combine(candidate, "data")) ? Path.GetFullPath(candidate) : null;
    }
}
