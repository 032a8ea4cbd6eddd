using System.Text.Json;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary>
/// The repository's apps run with dynamic PGO off (Directory.Build.targets): with it on, the runtime's background
/// recompilation preempted one of libtorch's threads during the first training steps (docs/performance.md,
/// "The runtime's background JIT"). Guards that the setting reaches the apps' runtimeconfig.json files.
/// </summary>
public sealed class RuntimeConfigTests
{
    [Theory]
    [InlineData("sr")] // the tool
    [InlineData("QuickStart")] // an example
    [InlineData("MLNet.SuperResolution.Tests")] // this test app
    public void App_RunsWithDynamicPgoOff(string app)
    {
        string path = Path.Combine(AppContext.BaseDirectory, app + ".runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing: build the solution first");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        string missing = $"{app}.runtimeconfig.json does not set System.Runtime.TieredPGO (Directory.Build.targets sets it for apps)";
        Assert.True(config.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var properties), missing);
        Assert.True(properties.TryGetProperty("System.Runtime.TieredPGO", out var pgo), missing);
        Assert.Equal(JsonValueKind.False, pgo.ValueKind);
    }

    [Fact]
    public void ThisProcess_SeesTheSetting()
        => Assert.Equal("false", AppContext.GetData("System.Runtime.TieredPGO")?.ToString()?.ToLowerInvariant());
}
