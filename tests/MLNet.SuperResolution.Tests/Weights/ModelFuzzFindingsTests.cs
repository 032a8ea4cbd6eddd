using Microsoft.ML;
using ModelFuzz;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Weights;
using static MLNet.SuperResolution.Tests.Weights.TorchFiles;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// What the model-file fuzzer (examples/ModelFuzz) found, each as the file that reproduced it, now refused with an
/// <see cref="InvalidDataException"/> naming the file; and a short fuzzing run of every seed kind.
/// </summary>
public sealed class ModelFuzzFindingsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>safetensors whose shape or offsets hold a string, null, a fraction or an array: the JSON reader threw InvalidOperationException.</summary>
    [Theory]
    [InlineData("\"shape\":[\"2\"],\"data_offsets\":[0,8]", "has the shape [-1]")]
    [InlineData("\"shape\":[null],\"data_offsets\":[0,8]", "has the shape [-1]")]
    [InlineData("\"shape\":[[2]],\"data_offsets\":[0,8]", "has the shape [-1]")]
    [InlineData("\"shape\":[2],\"data_offsets\":[null,8]", "has the data offsets [-1, 8]")]
    [InlineData("\"shape\":[2],\"data_offsets\":[0,8.5]", "has the data offsets [0, -1]")]
    public void SafetensorsWithNonIntegerShapesOrOffsets_AreRefused(string fields, string expected)
    {
        byte[] file = Safetensors([("w", "F32", [2], Floats(1, 2))], headerOverride: "{\"w\":{\"dtype\":\"F32\"," + fields + "}}");
        AssertRefused(file, "odd.safetensors", expected);
    }

    /// <summary>A safetensors header with invalid UTF-8 in a name: "Cannot transcode invalid UTF-8" (InvalidOperationException).</summary>
    [Fact]
    public void SafetensorsWithInvalidUtf8_AreRefused()
    {
        byte[] file = Safetensors([("wX", "F32", [2], Floats(1, 2))]);
        int at = Array.IndexOf(file, (byte)'X');
        file[at] = 0xFF;
        AssertRefused(file, "utf8.safetensors", "not valid UTF-8");
    }

    /// <summary>The original ESRGAN layout plus a key of the BasicSR layout that renames onto the same key: "An item with the same key has already been added".</summary>
    [Fact]
    public void TwoKeysMeetingUnderTheDetectedLayout_AreRefused()
    {
        var tensors = Tensors(Probe("esrgan-oldarch-x8.pth"));
        var first = tensors.First(t => t.Key == "model.0.weight");
        tensors.Add(first with { Key = "conv_first.weight", StorageKey = "extra" });
        AssertRefused(ZipStateDict(tensors), "meeting.pth", "are both 'conv_first.weight'");
    }

    /// <summary>One extra key "body.1000000." made detection build a million-block ESRGAN (a hang; no memory bound).</summary>
    [Fact]
    public void ASequenceIndexFarBeyondTheOthers_IsRefusedAtOnce()
    {
        var tensors = Tensors(Probe("esrgan-basicsr-x2.pth"));
        var block = tensors.First(t => t.Key.EndsWith("body.0.rdb1.conv1.weight", StringComparison.Ordinal));
        tensors.Add(block with { Key = block.Key.Replace("body.0.", "body.1000000.", StringComparison.Ordinal), StorageKey = "far" });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        AssertRefused(ZipStateDict(tensors), "far.pth", "jump from index 0 to 1000000");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed}");
    }

    /// <summary>RealPLKSR shapes that read as a split ratio the network refuses: ArgumentOutOfRangeException from detection.</summary>
    [Fact]
    public void ShapesGivingOptionsTheNetworkRefuses_AreRefused()
    {
        var tensors = Tensors(Probe("realplksr-x4.pth"));
        int at = tensors.FindIndex(t => t.Key.EndsWith("feats.1.lk.conv.weight", StringComparison.Ordinal));
        var conv = tensors[at];
        long[] shape = [conv.Shape[0] * 8, .. conv.Shape[1..]];
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        tensors[at] = conv with { StorageBytes = new byte[numel * 4], Numel = numel, Shape = shape, Stride = Contiguous(shape) };
        AssertRefused(ZipStateDict(tensors), "ratio.pth", "split ratio");
    }

    /// <summary>
    /// A Compact whose convolution between two wide ones is a 1-element tensor: detection built the 1024 x 1024 x 3 x 3
    /// layer its neighbours' shapes imply before comparing (a 7.6 MB file of width 4096 took 763 MB); now refused by the
    /// construction budget before that layer is allocated.
    /// </summary>
    [Fact]
    public void ANetworkFarLargerThanTheFile_IsRefusedBeforeItIsBuilt()
    {
        const int width = 1024;
        FileTensor Zeros(string key, params long[] shape)
        {
            long numel = shape.Aggregate(1L, (a, b) => a * b);
            return new FileTensor(key, "FloatStorage", key.Replace('.', '_'), new byte[numel * 4], numel, 0, shape, Contiguous(shape));
        }

        var tensors = new List<FileTensor>
        {
            Zeros("body.0.weight", width, 3, 3, 3), Zeros("body.0.bias", width), Zeros("body.1.weight", width),
            Zeros("body.2.weight", 1, 1, 1, 1), Zeros("body.2.bias", 1), Zeros("body.3.weight", 1),
            Zeros("body.4.weight", 48, width, 3, 3), Zeros("body.4.bias", 48),
        };
        AssertRefused(ZipStateDict(tensors), "wide.pth", "needs more weights than the file holds");
    }

    /// <summary>
    /// An ML.NET model zip whose saved options describe ESPCN at width 4096 beside the weights of the small one: the
    /// loader built the 4096 x 4096 x 3 x 3 layer before it read the weights; now refused by the budget the saved
    /// weights stream sets.
    /// </summary>
    [Fact]
    public void AnMLNetZipWhoseOptionsDescribeAFarLargerNetwork_IsRefusedBeforeItIsBuilt()
    {
        var ml = new MLContext(seed: 1);
        var options = (EspcnOptions)SrModelZoo.Get(SrArchitecture.Espcn).Options(SrPreset.Notes);
        using var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 3, options);
        var wide = options with { NumFeat1 = 4096, NumFeat2 = 4096 };
        using var lying = new SuperResolutionTransformer(ml, "SuperRes", "LowRes",
            new SrUpscaler(SrArchitecture.Espcn, 2, SrChannels.Rgb, network, TorchSharp.torch.CPU, ownsNetwork: false), wide, "cpu", "cpu", trainingSummary: null);
        var data = TestImages.Paths(ml, []);
        var load = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data);
        string path = Path.Combine(_files.Directory, "lying.zip");
        ml.Model.Save(load.Append(lying), data.Schema, path);

        var error = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(path));
        output.WriteLine(error.Message);
        Assert.Contains(path, error.Message);
        Assert.Contains("needs more weights than the file holds", error.Message);
    }

    /// <summary>An ML.NET model zip with an entry that inflates 256 MiB of zeros from a few hundred KB: refused before ML.NET reads it.</summary>
    [Fact]
    public void AnMLNetZipWithADeflateBomb_IsRefusedBeforeMLNetReadsIt()
    {
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, []);
        var model = ml.Transforms.LoadImages("LowRes", null, "Path").Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2)).Fit(data);
        string path = Path.Combine(_files.Directory, "bomb.zip");
        ml.Model.Save(model, data.Schema, path);
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update))
        {
            using var stream = zip.CreateEntry("TransformerChain/Bomb", System.IO.Compression.CompressionLevel.SmallestSize).Open();
            stream.Write(new byte[256 << 20]);
        }

        var error = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("inflates from", error.Message);
    }

    /// <summary>A short run of the fuzzer over every seed kind (examples/ModelFuzz runs 10,000 cases).</summary>
    [Fact]
    public void ShortFuzz_EveryMutantLoadsOrIsRefusedClearly()
    {
        string folder = Path.Combine(_files.Directory, "fuzz");
        var seeds = SeedModels.Create(CommunityProbe.Folder, Path.Combine(folder, "seeds"));
        var result = ModelFuzzer.Run(seeds, cases: 600, seed: 11, Path.Combine(folder, "cases"), TimeSpan.FromSeconds(60));
        output.WriteLine($"{result.Loaded} loaded, {result.Refused} refused, {result.Unexpected.Count} unexpected in {result.Elapsed.TotalSeconds:F0} s; " +
                         $"most memory above a case's start {result.WorstCase.Bytes >> 20} MiB");
        Assert.True(result.Unexpected.Count == 0, string.Join("\n", result.Unexpected));
        Assert.True(result.Loaded > 0 && result.Refused > 0, $"{result.Loaded} loaded, {result.Refused} refused: the mutations should give both");
        Assert.True(result.Kinds.Keys.Any(k => k.StartsWith("safetensors", StringComparison.Ordinal)) && result.Kinds.Keys.Any(k => k.StartsWith("legacy", StringComparison.Ordinal))
            && result.Kinds.Keys.Any(k => k.Contains("pickle-payload", StringComparison.Ordinal)), string.Join(", ", result.Kinds.Keys));
    }

    private void AssertRefused(byte[] file, string name, string expected)
    {
        string path = _files.Write(name, file);
        var error = Assert.Throws<InvalidDataException>(() =>
        {
            SrModelFile.Inspect(path);
            using var upscaler = SuperResolutionUpscaler.FromModelFile(path);
        });
        output.WriteLine(error.Message);
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    private static string Probe(string name) => Path.Combine(CommunityProbe.Folder, name);

    /// <summary>A probe's tensors as float32 storages, one per tensor, ready to be written again with changes.</summary>
    private static List<FileTensor> Tensors(string path)
    {
        var file = WeightsFile.Open(path);
        var read = file.ReadTensors();
        try
        {
            return read.Select((kv, i) =>
            {
                float[] values = kv.Value.contiguous().data<float>().ToArray();
                long[] shape = kv.Value.shape;
                return new FileTensor(kv.Key, "FloatStorage", $"s{i}", Floats(values), values.Length, 0, shape, Contiguous(shape));
            }).ToList();
        }
        finally
        {
            foreach (var tensor in read.Values)
                tensor.Dispose();
        }
    }
}
