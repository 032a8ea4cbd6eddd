using System.IO.Compression;
using MLNet.SuperResolution.Weights;
using static MLNet.SuperResolution.Tests.Weights.TorchFiles;

namespace MLNet.SuperResolution.Tests.Weights;

/// <summary>
/// The weights-file reader on files written byte by byte as torch.save writes them (<see cref="TorchFiles"/>): the zip
/// and legacy formats and safetensors, float16/bfloat16 storages, strided views, the wrappers and key prefixes of real
/// checkpoints; and files crafted against a reader (globals that would run a command, shapes beyond their storage,
/// headers beyond the file, tensors aliasing one storage thousands of times, zip directories of a million entries),
/// each refused with an error that names the file, before anything is allocated or run.
/// </summary>
public sealed class WeightsFileTests(ITestOutputHelper output) : IDisposable
{
    private const string Marker = "/tmp/mlnet-sr-hostile-marker";
    private readonly TestImages _files = new();

    public void Dispose() => _files.Dispose();

    private static FileTensor Weight(string key, float[] values, long[] shape)
        => new(key, "FloatStorage", key.Replace('.', '_'), Floats(values), values.Length, 0, shape, Contiguous(shape));

    private static readonly FileTensor[] Small =
    [
        new("conv.weight", "FloatStorage", "0", Floats(1, 2, 3, 4, 5, 6), 6, 0, [2, 3], [3, 1]),
        new("conv.bias", "HalfStorage", "1", Halves(0.5f, -1.25f), 2, 0, [2], [1]),
        new("norm.weight", "BFloat16Storage", "2", BFloat16s(1.5f, 3f, -2f), 3, 0, [3], [1]),
        // a transposed view of storage 0: [3, 2] with strides [1, 3]
        new("conv.weight_t", "FloatStorage", "0", Floats(1, 2, 3, 4, 5, 6), 6, 0, [3, 2], [1, 3]),
        // an offset slice of storage 0: elements 2..5 as [2, 2]
        new("conv.slice", "FloatStorage", "0", Floats(1, 2, 3, 4, 5, 6), 6, 2, [2, 2], [2, 1]),
    ];

    private static void AssertSmall(WeightsFile file)
    {
        Assert.Equal(["conv.weight", "conv.bias", "norm.weight", "conv.weight_t", "conv.slice"], file.Tensors.Keys);
        Assert.Equal([2L, 3], file.Tensors["conv.weight"].Shape);
        Assert.Equal(StoredDtype.Float16, file.Tensors["conv.bias"].Dtype);
        var tensors = file.ReadTensors();
        try
        {
            Assert.Equal([1f, 2, 3, 4, 5, 6], tensors["conv.weight"].data<float>().ToArray());
            Assert.Equal([0.5f, -1.25f], tensors["conv.bias"].data<float>().ToArray());
            Assert.Equal([1.5f, 3f, -2f], tensors["norm.weight"].data<float>().ToArray());
            Assert.Equal([1f, 4, 2, 5, 3, 6], tensors["conv.weight_t"].data<float>().ToArray());
            Assert.Equal([3f, 4, 5, 6], tensors["conv.slice"].data<float>().ToArray());
            Assert.All(tensors.Values, t => Assert.Equal(TorchSharp.torch.ScalarType.Float32, t.dtype));
        }
        finally
        {
            foreach (var t in tensors.Values)
                t.Dispose();
        }
    }

    [Fact]
    public void ZipLegacyAndDeflatedZip_ReadTheSameTensors_WithViewsAndHalfPrecision()
    {
        AssertSmall(WeightsFile.Open(_files.Write("zip.pth", ZipStateDict(Small))));
        AssertSmall(WeightsFile.Open(_files.Write("legacy.pth", LegacyStateDict(Small))));
        var deflated = Zip(StateDictPickle(Small, legacy: false), Small.Select(t => (t.StorageKey, t.StorageBytes)), CompressionLevel.Optimal);
        AssertSmall(WeightsFile.Open(_files.Write("deflated.pth", deflated)));
        var file = WeightsFile.Open(_files.Write("legacy2.pth", LegacyStateDict(Small)));
        Assert.Equal(WeightsFormat.TorchLegacy, file.Format);
        Assert.Equal(StoredDtype.Float32, file.StoredFloatType);
    }

    [Fact]
    public void Safetensors_AreRead_WithTheirDtypes()
    {
        var bytes = Safetensors([("a.weight", "F32", [2, 2], Floats(1, 2, 3, 4)), ("a.bias", "BF16", [2], BFloat16s(0.5f, -8f)), ("b", "F16", [1], Halves(2f))]);
        var file = WeightsFile.Open(_files.Write("w.safetensors", bytes));
        Assert.Equal(WeightsFormat.Safetensors, file.Format);
        var tensors = file.ReadTensors();
        Assert.Equal([1f, 2, 3, 4], tensors["a.weight"].data<float>().ToArray());
        Assert.Equal([0.5f, -8f], tensors["a.bias"].data<float>().ToArray());
        Assert.Equal([2f], tensors["b"].data<float>().ToArray());
        foreach (var t in tensors.Values)
            t.Dispose();
    }

    [Theory]
    [InlineData(new[] { "params_ema" }, "", "params_ema")]
    [InlineData(new[] { "state_dict" }, "module.", "state_dict")]
    [InlineData(new[] { "model" }, "netG.", "model")]
    [InlineData(new[] { "net" }, "", "net")]
    [InlineData(new[] { "state_dict", "model" }, "", "state_dict/model")]
    [InlineData(new string[0], "module.", null)]
    public void Wrappers_AndPrefixes_AreUnwrapped(string[] wrappers, string prefix, string? expected)
    {
        var file = WeightsFile.Open(_files.Write("w.pth", ZipStateDict(Small, prefix, wrappers)));
        Assert.Equal(expected, file.Wrapper);
        Assert.Equal(prefix, file.Prefix);
        AssertSmall(file);
        var legacy = WeightsFile.Open(_files.Write("l.pth", LegacyStateDict(Small, prefix, wrappers)));
        Assert.Equal(expected, legacy.Wrapper);
        AssertSmall(legacy);
    }

    [Fact]
    public void ParamsEma_IsPreferredOverParams()
    {
        var ema = new[] { Weight("x", [1, 2], [2]) };
        var plain = new[] { new FileTensor("x", "FloatStorage", "p", Floats(7, 8), 2, 0, [2], [1]) };
        var pickle = new PickleWriter().EmptyDict().Mark().String("params");
        pickle.Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark().String("x").Tensor("FloatStorage", "p", 2, 0, [2], [1]).SetItems();
        pickle.String("params_ema");
        pickle.Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark().String("x").Tensor("FloatStorage", "x", 2, 0, [2], [1]).SetItems();
        pickle.SetItems();
        var bytes = Zip(pickle.Finish(), [("p", plain[0].StorageBytes), ("x", ema[0].StorageBytes)]);
        var file = WeightsFile.Open(_files.Write("both.pth", bytes));
        Assert.Equal("params_ema", file.Wrapper);
        using var x = file.ReadTensors()["x"];
        Assert.Equal([1f, 2], x.data<float>().ToArray());
    }

    public static TheoryData<string, string> GlobalsThatRunCode() => new()
    {
        { "os", "system" },
        { "builtins", "eval" },
        { "subprocess", "Popen" },
        { "posix", "system" },
        { "torch", "load" },
        { "__builtin__", "exec" },
    };

    [Theory]
    [MemberData(nameof(GlobalsThatRunCode))]
    public void AGlobalOutsideTheAllowList_IsRefusedNamingIt_AndNothingRuns(string module, string name)
    {
        File.Delete(Marker);
        var payload = new PickleWriter().Global(module, name).Mark().String($"touch {Marker}").Tuple().Reduce().Finish();
        var stackGlobal = new PickleWriter().String(module).String(name).Op(0x93).Mark().String($"touch {Marker}").Tuple().Reduce().Finish();
        string[] files =
        [
            _files.Write("zip.pth", Zip(payload, [])),
            _files.Write("stack.pth", Zip(stackGlobal, [])),
            _files.Write("legacy.pth", Legacy(payload, [])),
            _files.Write("raw.pkl", payload),
        ];
        foreach (string file in files)
        {
            var error = Assert.Throws<InvalidDataException>(() => WeightsFile.Open(file));
            Assert.Contains($"'{file}'", error.Message);
            if (!file.EndsWith("raw.pkl", StringComparison.Ordinal))
                Assert.Contains($"'{module}.{name}'", error.Message);
        }

        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public void AModelClassInsteadOfAStateDict_IsRefusedNamingIt()
    {
        var pickle = new PickleWriter().Global("basicsr.archs.rrdbnet_arch", "RRDBNet").EmptyTuple().Op(0x81).EmptyDict().Op((byte)'b').Finish();
        var error = Assert.Throws<InvalidDataException>(() => WeightsFile.Open(_files.Write("whole-model.pth", Zip(pickle, []))));
        Assert.Contains("'basicsr.archs.rrdbnet_arch.RRDBNet'", error.Message);
    }

    public static TheoryData<string, string> CraftedFiles() => new()
    {
        { "storage-too-short", "reads past the end of its storage" },
        { "entry-too-short", "but its zip entry holds" },
        { "huge-shape", "more than 17,179,869,184 elements" },
        { "negative-stride", "negative offset or stride" },
        { "aliased", "share their storage many times" },
        { "truncated-pickle", "ends before it is complete" },
        { "truncated-zip", "zip" },
        { "legacy-record-short", "is cut off or crafted" },
        { "empty", "the file is empty" },
        { "text", "not a PyTorch weights file" },
        { "png", "not a PyTorch weights file" },
        { "no-tensors", "holds no tensors" },
        { "a-list", "not a state_dict" },
        { "safetensors-header-past-end", "header claims" },
        { "safetensors-offsets-past-end", "outside the" },
        { "safetensors-overlap", "overlap" },
        { "safetensors-shape-mismatch", "has the shape [1000000] of float32 but 8 bytes" },
        { "safetensors-not-json", "not valid JSON" },
        { "zip-directory-huge", "its zip directory of entries is" },
        { "deflate-bomb", "compressed entries that expand without limit" },
    };

    [Theory]
    [MemberData(nameof(CraftedFiles))]
    public void CraftedFiles_AreRefusedClearly_NamingTheFile(string kind, string expected)
    {
        byte[] bytes = Crafted(kind);
        string path = _files.Write(kind + ".pth", bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => WeightsFile.Open(path).ReadTensors().Values.ToList().ForEach(t => t.Dispose()));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{kind}: {error.Message} ({allocated:N0} bytes allocated for a {bytes.Length:N0}-byte file)");
        Assert.Contains($"'{path}'", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.InRange(allocated, 0, 32L * bytes.Length + (4L << 20)); // the pickle's objects; nothing sized by a crafted number
    }

    private static byte[] Crafted(string kind)
    {
        var one = new[] { Weight("w", [1, 2, 3, 4], [4]) };
        switch (kind)
        {
            case "storage-too-short":
                return ZipStateDict([new FileTensor("w", "FloatStorage", "0", Floats(1, 2, 3, 4), 4, 0, [8], [1])]);
            case "entry-too-short":
                return ZipStateDict([new FileTensor("w", "FloatStorage", "0", Floats(1, 2), 1_000_000, 0, [4], [1])]);
            case "huge-shape":
                return ZipStateDict([new FileTensor("w", "FloatStorage", "0", Floats(1), 1, 0, [1_000_000, 1_000_000, 100], [0, 0, 0])]);
            case "negative-stride":
                return ZipStateDict([new FileTensor("w", "FloatStorage", "0", Floats(1, 2, 3, 4), 4, 3, [4], [-1])]);
            case "aliased":
                {
                    // 5,000 tensors, each the whole of one 64 KB storage: 320 MB from a file of a few hundred KB.
                    var storage = new byte[1 << 16];
                    var tensors = Enumerable.Range(0, 5000).Select(i => new FileTensor($"w{i}", "FloatStorage", "0", storage, 1 << 14, 0, [1 << 14], [1])).ToList();
                    return ZipStateDict(tensors);
                }

            case "deflate-bomb":
                {
                    // One 1-element tensor of a deflated 128 MB storage of zeros: a file of about 130 KB.
                    var zeros = new byte[128 << 20];
                    var tensor = new FileTensor("w", "FloatStorage", "0", zeros, zeros.Length / 4, 0, [1], [1]);
                    return Zip(StateDictPickle([tensor], legacy: false), [("0", zeros)], CompressionLevel.Optimal);
                }

            case "truncated-pickle":
                {
                    var pickle = StateDictPickle(one, legacy: false);
                    return Zip(pickle[..(pickle.Length / 2)], one.Select(t => (t.StorageKey, t.StorageBytes)));
                }

            case "truncated-zip":
                {
                    var zip = ZipStateDict(one);
                    return zip[..(zip.Length * 6 / 10)];
                }

            case "legacy-record-short":
                {
                    var legacy = LegacyStateDict(one);
                    return legacy[..^6];
                }

            case "empty":
                return [];
            case "text":
                return "this is not a model"u8.ToArray();
            case "png":
                return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
            case "no-tensors":
                return Zip(new PickleWriter().EmptyDict().Mark().String("epoch").Int(5).SetItems().Finish(), []);
            case "a-list":
                return Zip(new PickleWriter().Mark().Int(1).List().Finish(), []);
            case "safetensors-header-past-end":
                return Safetensors([("w", "F32", [1], Floats(1))], headerOverride: "{" + new string(' ', 10) + "}")[..12];
            case "safetensors-offsets-past-end":
                return Safetensors([("w", "F32", [4], Floats(1))], "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16000000]}}");
            case "safetensors-overlap":
                return Safetensors([("a", "F32", [2], Floats(1, 2))], "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
            case "safetensors-shape-mismatch":
                return Safetensors([("a", "F32", [2], Floats(1, 2))], "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000],\"data_offsets\":[0,8]}}");
            case "safetensors-not-json":
                return Safetensors([("a", "F32", [2], Floats(1, 2))], "{not json at all}");
            case "zip-directory-huge":
                {
                    var zip = ZipStateDict(one);
                    // the end-of-central-directory record's directory size (bytes 12-15 of the 22-byte record): 2 GB
                    int eocd = zip.Length - 22;
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(eocd + 12), 0x7FFF_0000);
                    return zip;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }
}
