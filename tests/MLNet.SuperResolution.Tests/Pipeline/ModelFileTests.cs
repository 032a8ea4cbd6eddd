using System.IO.Compression;
using Microsoft.ML;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// Broken model files give clear errors and load nothing: a truncated zip, weights of another shape put into the zip,
/// weights holding NaN.
/// </summary>
[Collection(Architectures.TorchRngCollection.Name)]
public sealed class ModelFileTests : IDisposable
{
    private readonly TestImages _images = new();
    private readonly MLContext _ml = new(seed: 1);
    private readonly ITestOutputHelper _output;

    public ModelFileTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _images.Dispose();

    /// <summary>Saves ESPCN (Notes, RGB) with seeded random weights, optionally edited first; returns the zip's path.</summary>
    private string SaveEspcn(int scale, string name, Action<SrNetwork>? edit = null)
    {
        using var transformer = TestModels.Random(_ml, SrArchitecture.Espcn, scale, SrChannels.Rgb, seed: 4, edit: edit);
        var data = TestImages.Paths(_ml, new[] { _images.Crop("coffee.png", 12, 10) });
        var lowRes = _ml.Transforms.LoadImages("LowRes", null, "Path").Fit(data).Transform(data);
        string path = Path.Combine(_images.Directory, name);
        _ml.Model.Save(transformer, lowRes.Schema, path);
        return path;
    }

    private static string Messages(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
            parts.Add(x.Message);
        return string.Join(" | ", parts);
    }

    [Fact]
    public void TruncatedZip_IsRefusedNamingTheFile()
    {
        string path = SaveEspcn(2, "whole.zip");
        byte[] bytes = File.ReadAllBytes(path);
        string truncated = _images.Write("truncated.zip", bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(truncated));
        Assert.Contains(truncated, error.Message);
        Assert.ThrowsAny<Exception>(() => _ml.Model.Load(truncated, out _));
    }

    [Fact]
    public void WeightsOfAnotherShape_AreRefused_NothingHalfLoaded()
    {
        string x2 = SaveEspcn(2, "x2.zip"), x3 = SaveEspcn(3, "x3.zip");
        byte[] foreign;
        using (var source = ZipFile.OpenRead(x3))
        using (var stream = new MemoryStream())
        {
            source.Entries.Single(e => e.FullName.EndsWith("SRNetwork", StringComparison.Ordinal)).Open().CopyTo(stream);
            foreign = stream.ToArray();
        }

        using (var target = ZipFile.Open(x2, ZipArchiveMode.Update))
        {
            var entry = target.Entries.Single(e => e.FullName.EndsWith("SRNetwork", StringComparison.Ordinal));
            string name = entry.FullName;
            entry.Delete();
            using var writer = target.CreateEntry(name).Open();
            writer.Write(foreign);
        }

        var error = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(x2, out _));
        Assert.Contains("Espcn x2 weights in the model could not be loaded", Messages(error));
        var upscalerError = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(x2));
        Assert.Contains(x2, upscalerError.Message);
        Assert.Contains("could not be loaded", upscalerError.Message);
    }

    /// <summary>
    /// Rewrites the format version of the zip's component with model signature <paramref name="signature"/> (ML.NET's
    /// model header in its Model.key: the signature at 0x40, then the version written and the oldest version that can
    /// read it).
    /// </summary>
    private static void SetFormatVersion(string zipPath, string signature, uint written, uint readable)
    {
        using var zip = ZipFile.Open(zipPath, ZipArchiveMode.Update);
        int patched = 0;
        foreach (var entry in zip.Entries.Where(e => e.Name == "Model.key").ToList())
        {
            byte[] bytes;
            using (var stream = new MemoryStream())
            {
                using (var source = entry.Open())
                    source.CopyTo(stream);
                bytes = stream.ToArray();
            }

            if (System.Text.Encoding.ASCII.GetString(bytes, 0x40, 8) != signature)
                continue;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0x48), written);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0x4C), readable);
            string name = entry.FullName;
            entry.Delete();
            using (var target = zip.CreateEntry(name).Open())
                target.Write(bytes);
            patched++;
        }

        Assert.Equal(1, patched);
    }

    [Fact]
    public void ModelOfANewerFormatVersion_IsRefusedWithAClearMessage()
    {
        string path = SaveEspcn(2, "newer.zip");
        using (var current = (SuperResolutionTransformer)_ml.Model.Load(path, out _))
            Assert.Equal(SrArchitecture.Espcn, current.Architecture); // the unpatched file loads
        SetFormatVersion(path, "SRESTRNS", written: 0x00020001, readable: 0x00020001);

        // ML.NET's own message here names ML.NET's version and suggests an older ML.NET: ours says what to update.
        var error = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));
        _output.WriteLine(Messages(error));
        Assert.Contains("super-resolution transform was saved by a newer version of MLNet.SuperResolution: its format is 0x00020001", Messages(error));
        Assert.Contains("reads formats 0x00010001 to 0x00010007. Update the MLNet.SuperResolution package", Messages(error));

        var upscalerError = Assert.Throws<InvalidDataException>(() => SuperResolutionUpscaler.FromModelFile(path));
        _output.WriteLine(upscalerError.Message);
        Assert.Contains(path, upscalerError.Message);
        Assert.Contains("newer version of MLNet.SuperResolution", upscalerError.Message);

        // A newer writer that keeps the format readable by this version (readable stays ours) still loads.
        SetFormatVersion(path, "SRESTRNS", written: 0x00010008, readable: 0x00010007);
        using var compatible = (SuperResolutionTransformer)_ml.Model.Load(path, out _);
        Assert.Equal(2, compatible.Scale);
    }

    [Fact]
    public void PipelineWithANewerDownscaleImagesFormat_IsRefusedWithAClearMessage()
    {
        var data = TestImages.Paths(_ml, new[] { _images.Crop("coffee.png", 12, 10) });
        var pipeline = _ml.Transforms.LoadImages("HighRes", null, "Path").Append(_ml.Transforms.DownscaleImages("LowRes", 2, "HighRes")).Fit(data);
        string path = Path.Combine(_images.Directory, "downscale.zip");
        _ml.Model.Save(pipeline, data.Schema, path);
        SetFormatVersion(path, "SRDOWNSC", written: 0x00020001, readable: 0x00020001);
        var error = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));
        Assert.Contains("DownscaleImages transform was saved by a newer version of MLNet.SuperResolution", Messages(error));
    }

    [Fact]
    public void NaNWeights_AreRefused()
    {
        string path = SaveEspcn(2, "nan.zip", network =>
        {
            using var noGrad = no_grad();
            network.parameters().First().fill_(double.NaN);
        });
        var error = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));
        Assert.Contains("hold NaN or infinite values (first_part.0.weight)", Messages(error));
    }
}
