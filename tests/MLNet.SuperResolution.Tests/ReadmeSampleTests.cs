using System.Text.RegularExpressions;

namespace MLNet.SuperResolution.Tests;

/// <summary>
/// The README's code blocks are the code of examples/QuickStart/ReadmeSample.cs (built with the solution, and run by
/// `dotnet run --project examples/QuickStart -- readme` for the README's figures), so they compile and cannot rot.
/// </summary>
public sealed class ReadmeSampleTests
{
    [Theory]
    [InlineData("", "using Microsoft.ML;\nusing MLNet.SuperResolution;\n\n")]
    [InlineData(" weights", "")]
    public void TheReadmesPipelineBlocks_AreTheExamplesCode(string region, string readmePrefix)
    {
        string root = SharedData.RepositoryRoot;
        string sample = File.ReadAllText(Path.Combine(root, "examples", "QuickStart", "ReadmeSample.cs")).ReplaceLineEndings("\n");
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var match = Regex.Match(sample, $@"// README:begin{region}\n(.*?)\n[ ]*// README:end{region}\n", RegexOptions.Singleline);
        Assert.True(match.Success, $"README:begin{region} ... README:end{region} not found in ReadmeSample.cs");
        string code = Dedent(match.Groups[1].Value);
        var blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(readmePrefix + code + "\n", blocks);
    }

    private static string Dedent(string text)
    {
        var lines = text.Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }
}
