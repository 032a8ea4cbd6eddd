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
