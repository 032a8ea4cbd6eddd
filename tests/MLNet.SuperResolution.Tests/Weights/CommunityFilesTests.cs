using MLNet.SuperResolution.Weights;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// The reader on the committed probe files (official PyTorch code, torch.save and hand-written safetensors) and the
/// hostile corpus made beside them: every probe opens with the wrapper, prefix and stored dtype it was written with;
/// every hostile file but the one with unknown keys (a valid file, refused later by detection) is refused, naming the
/// file, and the command its pickle carries never runs.
/// </summary>
public sealed class CommunityFilesTests(ITestOutputHelper output)
{
    public static TheoryData<string> Probes() => new(CommunityProbe.All.Select(p => p.Name));

    public static TheoryData<string> HostileFiles() => new(CommunityProbe.Hostile.Select(h => h.File).Where(f => f != "unknown-keys.pth"));

    [Theory]
    [MemberData(nameof(Probes))]
    public void EveryProbeFile_Opens_WithItsWrapperPrefixAndDtype(string name)
    {
        var probe = CommunityProbe.Named(name);
        var file = WeightsFile.Open(probe.PathOf(probe.File));
        output.WriteLine($"{name}: {file.Format}, wrapper {file.Wrapper ?? "none"}, prefix '{file.Prefix}', {file.Tensors.Count} tensors, {file.StoredFloatType.Name()}");
        Assert.Equal(probe.Format switch { "zip" => WeightsFormat.TorchZip, "legacy" => WeightsFormat.TorchLegacy, _ => WeightsFormat.Safetensors }, file.Format);
        Assert.Equal(probe.Wrapper, file.Wrapper);
        Assert.Equal(probe.Prefix, file.Prefix);
        Assert.Equal(probe.Dtype, file.StoredFloatType.Name());
        var tensors = file.ReadTensors();
        Assert.Equal(file.Tensors.Count, tensors.Count);
        Assert.All(tensors, t => Assert.Equal(file.Tensors[t.Key].Shape, t.Value.shape));
        foreach (var t in tensors.Values)
            t.Dispose();
    }

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void EveryHostileFile_IsRefused_NamingTheFile_AndRunsNothing(string name)
    {
        const string Marker = "/tmp/mlnet-sr-hostile-marker";
        File.Delete(Marker);
        string path = Path.Combine(CommunityProbe.Folder, "hostile", name);
        var error = Assert.Throws<InvalidDataException>(() => WeightsFile.Open(path).ReadTensors().Values.ToList().ForEach(t => t.Dispose()));
        output.WriteLine(error.Message);
        Assert.Contains($"'{path}'", error.Message);
        Assert.False(File.Exists(Marker));
    }
}
