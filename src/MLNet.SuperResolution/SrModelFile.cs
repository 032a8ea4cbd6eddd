using System.IO.Compression;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Weights;

namespace MLNet.SuperResolution;

/// <summary>What a model file is, as <see cref="SrModelFile.Inspect"/> (and <c>sr inspect</c>) reads it.</summary>
/// <param name="Path">The file.</param>
/// <param name="Container">"PyTorch zip (torch.save)", "PyTorch legacy pickle", "safetensors" or "ML.NET model zip".</param>
/// <param name="Architecture">The network.</param>
/// <param name="Variant">The key layout it was recognised by (e.g. "Real-ESRGAN / BasicSR layout"); for a model zip, "saved by this library".</param>
/// <param name="Scale">The upscaling factor (1: a restoration model that keeps the size).</param>
/// <param name="Channels">What the network sees: RGB, or one channel: full-range luma (<see cref="SrChannels.Gray"/>, the
/// community's grayscale models) or the protocol's Y (this library's Y networks).</param>
/// <param name="Options">Every hyper-parameter, as the options record the network is built from.</param>
/// <param name="ParameterCount">Trainable parameters.</param>
/// <param name="StoredDtype">The element type of most of the stored weights: float32, float16, bfloat16, float64.</param>
/// <param name="Wrapper">The checkpoint key the weights were under (params_ema, state_dict, ...), or null.</param>
/// <param name="KeyPrefix">The prefix removed from every key (module., netG., ...), or empty.</param>
/// <param name="SupportsBFloat16">Whether this library can run it in bfloat16 (<see cref="SrPrecision.BFloat16"/>).</param>
/// <param name="Float16Safe">
/// Whether the network is known to work in float16 elsewhere (e.g. other runtimes; spandrel's findings): false for
/// RealPLKSR with GroupNorm, whose activations overflow float16. This library does not run float16.
/// </param>
/// <param name="InputSizeMultiple">The multiple an input's width and height must be: 1 for every network here (a network that
/// needs one, like RRDBNet's pixel-unshuffled x2 and x1, pads internally).</param>
public sealed record SrModelFileInfo(string Path, string Container, SrArchitecture Architecture, string Variant, int Scale, SrChannels Channels,
    SrNetworkOptions Options, long ParameterCount, string StoredDtype, string? Wrapper, string KeyPrefix, bool SupportsBFloat16,
    bool Float16Safe, int InputSizeMultiple);

/// <summary>
/// Model files as users download or save them: a PyTorch state_dict of a network this library detects (ESRGAN,
/// Real-ESRGAN, BSRGAN, Compact, ... in .pth, .pt, .ckpt or .safetensors; wrapped as training checkpoints wrap them,
/// float16 or bfloat16), read without running anything from the file and detected from its keys and shapes; or an
/// ML.NET model zip saved by this library. <see cref="SuperResolutionUpscaler.FromModelFile"/> and
/// <c>ApplySuperResolutionModel(output, input, modelPath)</c> run either kind.
/// </summary>
public static class SrModelFile
{
    /// <summary>Reads what a model file is without running it (the network is built once to check its keys and count its parameters).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not a model file, hostile, or a network this library does not recognise: the message names the file and says why.</exception>
    public static SrModelFileInfo Inspect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Model file not found: {path}", path);
        if (IsMLNetModel(path))
        {
            using var upscaler = SuperResolutionUpscaler.FromModelFile(path);
            var transformer = upscaler.Transformer;
            // A saved network ran in float32 when it was trained or imported; bfloat16 is an inference option.
            return new SrModelFileInfo(path, "ML.NET model zip", transformer.Architecture, "saved by this library", transformer.Scale, transformer.Channels,
                transformer.NetworkOptions, transformer.ParameterCount, "float32", null, string.Empty, SupportsBFloat16: true, Float16Safe(transformer.NetworkOptions), 1);
        }

        var model = ModelDetection.Detect(WeightsFile.Open(path));
        var file = model.File;
        string container = file.Format switch
        {
            WeightsFormat.TorchZip => "PyTorch zip (torch.save)",
            WeightsFormat.TorchLegacy => "PyTorch legacy pickle",
            _ => "safetensors",
        };
        return new SrModelFileInfo(path, container, model.Architecture, model.Detection.Variant, model.Scale,
            model.ChannelMode, model.Options, model.ParameterCount, file.StoredFloatType.Name(), file.Wrapper,
            file.Prefix + model.KeyPrefix, SupportsBFloat16: true, Float16Safe(model.Options), InputSizeMultiple: 1);
    }

    /// <summary>Whether <paramref name="path"/> is an ML.NET model zip (rather than a torch.save zip or another weights file).</summary>
    internal static bool IsMLNetModel(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            if (stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4 || !head.SequenceEqual("PK\x03\x04"u8))
                return false;
            stream.Position = 0;
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
            // ML.NET writes a Model.key per saved component (TransformerChain/Model.key, Model/Model.key, ...);
            // torch.save writes <archive>/data.pkl.
            return zip.Entries.Any(e => e.Name == "Model.key") && !zip.Entries.Any(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>
    /// Refuses an ML.NET model zip whose entries inflate far beyond their compressed size (model weights barely
    /// compress; a zip bomb does) before ML.NET reads it: an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    internal static void CheckMLNetZip(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                if (entry.Length > MaxInflation * Math.Max(entry.CompressedLength, 1) + (1 << 20))
                    throw new InvalidDataException(
                        $"'{path}' holds the entry '{entry.FullName}' that inflates from {entry.CompressedLength:N0} to {entry.Length:N0} bytes, " +
                        "far beyond what a model's contents compress to: a zip bomb or a corrupt file. Nothing was loaded.");
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' is not a readable zip: {e.Message}", e);
        }
    }

    // Weights (float32) deflate to about 90%; ML.NET's text entries to a tenth or so.
    private const long MaxInflation = 64;

    private static bool Float16Safe(SrNetworkOptions options) => NetworkFactory.Describe(options.Architecture).Float16Safe(options);

    /// <summary>Detects the network of a weights file (not a model zip).</summary>
    internal static DetectedModel Detect(string path) => ModelDetection.Detect(WeightsFile.Open(path));
}
