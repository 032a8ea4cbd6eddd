using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MLNet.SuperResolution;

/// <summary>
/// Upscales images outside ML.NET pipelines: files, streams, <see cref="MLImage"/>s and ImageSharp images, with the
/// network of a fitted <see cref="SuperResolutionTransformer"/> or of a saved model zip. Thread-safe: concurrent calls
/// on one instance give the same results as sequential ones; each call disposes its tensors.
/// </summary>
/// <remarks>
/// Files are read with ImageSharp: their metadata is checked against <see cref="MetadataLimits"/> and their dimensions
/// against <see cref="MaxInputPixels"/> before anything is decoded (metadata beyond the limits is skipped with a
/// <see cref="Warning"/>, or the file refused), EXIF orientation is applied, 16-bit images are processed at 8 bits,
/// and the output keeps the input's mode (grayscale stays grayscale; alpha is upscaled with bicubic and kept where the
/// output format holds it).
/// </remarks>
/// <example>
/// <code>
/// using var upscaler = SuperResolutionUpscaler.FromModelFile("espcn-x2.zip");
/// upscaler.UpscaleFile("photo.jpg", "photo-x2.png");
/// </code>
/// </example>
public sealed class SuperResolutionUpscaler : IDisposable
{
    private readonly SuperResolutionTransformer _transformer;
    private readonly SrUpscaler _runner;
    private readonly IReadOnlyList<IDisposable> _owned;
    private long _maxInputPixels = ImageFiles.DefaultMaxPixels;
    private SrMetadataLimits _metadataLimits = ImageFiles.DefaultMetadataLimits;
    private int _jpegQuality = 95;
    private int _disposed;

    private SuperResolutionUpscaler(SuperResolutionTransformer transformer, IReadOnlyList<IDisposable> owned, SrInferenceOptions? inference,
        string? device = null)
    {
        _transformer = transformer;
        var upscaler = transformer.Upscaler;
        // Other inference options (or another device, for a network this upscaler owns) run the same network through a
        // second runner, which this upscaler disposes (its own bfloat16 copy, not the transformer's network).
        _runner = inference is null && device is null
            ? upscaler
            : new SrUpscaler(upscaler.Architecture, upscaler.Scale, upscaler.Channels, upscaler.Network,
                device is null ? upscaler.Device : TorchDevices.Parse(device), inference ?? upscaler.Inference, ownsNetwork: false);
        _owned = _runner == upscaler ? owned : [_runner, .. owned];
    }

    /// <summary>
    /// The number format the network runs in: the inference options' <see cref="SrInferenceOptions.Precision"/>, except
    /// that <see cref="SrPrecision.BFloat16"/> runs as <see cref="SrPrecision.Float32"/> on a CPU without native bfloat16
    /// instructions (AVX-512 BF16 or AMX-BF16), where it would be 8-240x slower than float32.
    /// </summary>
    public SrPrecision Precision => _runner.Precision;

    /// <summary>Why the network runs float32 although its options ask for bfloat16; null when it runs what they ask.</summary>
    internal string? PrecisionFallback => _runner.PrecisionFallback;

    /// <summary>Uses the network of a fitted transformer; the transformer stays the caller's to dispose (after this upscaler's last call).</summary>
    /// <param name="transformer">A transformer from <c>SuperResolution(...)</c>, <c>ApplySuperResolutionModel</c> or a loaded model.</param>
    /// <param name="inference">Tiling and self-ensemble for this upscaler; default: the transformer's own.</param>
    public static SuperResolutionUpscaler FromTransformer(SuperResolutionTransformer transformer, SrInferenceOptions? inference = null)
        => new(transformer ?? throw new ArgumentNullException(nameof(transformer)), [], inference);

    /// <summary>
    /// Uses the weights embedded in the library for <paramref name="scale"/> (<see cref="SrDefaultModel"/>); the
    /// upscaler owns the network.
    /// </summary>
    /// <param name="scale">The upscaling factor, one of <see cref="SrDefaultModel.Scales"/>.</param>
    /// <param name="inference">Tiling and self-ensemble; default: tiles above 512x512 input pixels.</param>
    /// <param name="device">"cpu" (default), "cuda" or "cuda:N" (needs a CUDA libtorch backend in the application).</param>
    /// <exception cref="ArgumentOutOfRangeException">No default weights for that scale.</exception>
    public static SuperResolutionUpscaler FromDefaultModel(int scale = 2, SrInferenceOptions? inference = null, string device = "cpu")
    {
        var transformer = new ApplySuperResolutionModelEstimator(new MLContext(), "SuperRes", "LowRes", scale, device, inference).Transformer;
        return new SuperResolutionUpscaler(transformer, [transformer], inference: null);
    }

    /// <summary>
    /// Loads a model file: an ML.NET model zip saved with <c>mlContext.Model.Save</c> (a whole pipeline or the
    /// transformer alone; its last super-resolution step is used) or written by <c>sr import</c>; or a PyTorch
    /// state_dict of a network this library detects from its keys and shapes (a community model: ESRGAN, Real-ESRGAN,
    /// Compact, ... as .pth, .pt, .ckpt or .safetensors; <see cref="SrModelFile"/>), read without running anything
    /// from the file. The upscaler owns what it loaded.
    /// </summary>
    /// <param name="modelPath">The model zip or weights file.</param>
    /// <param name="inference">Tiling and self-ensemble for this upscaler; default: those saved with the model (a weights file: the defaults).</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N" to run on; default: the device saved with the model (a weights file: the CPU).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a loadable model (truncated, corrupt or tampered weights,
    /// saved by a newer version, a network not recognised), or it holds no super-resolution transform.</exception>
    public static SuperResolutionUpscaler FromModelFile(string modelPath, SrInferenceOptions? inference = null, string? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"Model file not found: {modelPath}", modelPath);
        if (!SrModelFile.IsMLNetModel(modelPath))
        {
            var weights = new ApplySuperResolutionModelEstimator(new MLContext(), "SuperRes", "LowRes", modelPath, device ?? "cpu", inference).Transformer;
            return new SuperResolutionUpscaler(weights, [weights], inference: null);
        }

        SrModelFile.CheckMLNetZip(modelPath);
        ITransformer model;
        try
        {
            model = new MLContext().Model.Load(modelPath, out _);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{modelPath}' could not be loaded as an ML.NET model: {Innermost(e).Message}", e);
        }

        var steps = model is IEnumerable<ITransformer> chain ? chain.ToList() : [model];
        var owned = steps.OfType<IDisposable>().ToList();
        var transformer = steps.OfType<SuperResolutionTransformer>().LastOrDefault();
        if (transformer is null)
        {
            owned.ForEach(d => d.Dispose());
            throw new InvalidDataException(
                $"'{modelPath}' holds no super-resolution transform (its steps: {string.Join(", ", steps.Select(s => s.GetType().Name))}). " +
                "Save a pipeline that ends with SuperResolution(...) or ApplySuperResolutionModel, or use `sr import`.");
        }

        return new SuperResolutionUpscaler(transformer, owned, inference, device);
    }

    /// <summary>The transformer whose network runs.</summary>
    internal SuperResolutionTransformer Transformer => _transformer;

    /// <summary>The upscaling factor.</summary>
    public int Scale => _transformer.Scale;

    /// <summary>The network.</summary>
    public SrArchitecture Architecture => _transformer.Architecture;

    /// <summary>Whether the network sees RGB or the Y channel.</summary>
    public SrChannels Channels => _transformer.Channels;

    /// <summary>A copy of the tiling and self-ensemble options in use.</summary>
    public SrInferenceOptions Inference => _runner.Inference.Clone();

    /// <summary>Largest input, in pixels, read from a file or stream; checked from the header before decoding. Default 100 megapixels.</summary>
    public long MaxInputPixels
    {
        get => _maxInputPixels;
        set => _maxInputPixels = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The pixel limit must be positive.");
    }

    /// <summary>
    /// Bounds on the metadata of files and streams read (EXIF, XMP, ICC, text chunks, comments), checked before
    /// anything is inflated: by default 8 MiB per item and 16 MiB in all, beyond which the metadata is skipped unread
    /// with a <see cref="Warning"/> and the pixels are upscaled (<see cref="SrMetadataLimits"/>). The upscaler keeps a
    /// copy of what is set; to change one bound, set a changed copy.
    /// </summary>
    public SrMetadataLimits MetadataLimits
    {
        get => _metadataLimits.Clone();
        set => _metadataLimits = (value ?? throw new ArgumentNullException(nameof(value))).Clone();
    }

    /// <summary>
    /// Raised when a file or stream was upscaled with something left out (metadata beyond <see cref="MetadataLimits"/>);
    /// the message names the file and each item. Raised on the thread that called the upscaler.
    /// </summary>
    public event EventHandler<SrWarningEventArgs>? Warning;

    /// <summary>
    /// Raised after each tile of a tiled upscale (images above <see cref="SrInferenceOptions.MaxUntiledPixels"/>, or
    /// with <see cref="SrInferenceOptions.TileSize"/>): how far the current image is, for a progress display. Not
    /// raised for an image upscaled in one pass. Raised on the thread that called the upscaler.
    /// </summary>
    public event EventHandler<SrTileProgressEventArgs>? TileProgress;

    /// <summary>Quality of JPEG output, 1..100. Default 95.</summary>
    public int JpegQuality
    {
        get => _jpegQuality;
        set => _jpegQuality = value is >= 1 and <= 100 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "JPEG quality is 1..100.");
    }

    /// <summary>Upscales an <see cref="MLImage"/> (BGRA32 or RGBA32) into a new BGRA32 one, alpha kept.</summary>
    public MLImage Upscale(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = RgbImage.FromMLImage(image);
        CheckNotDisposed();
        using var progress = ReportTiles();
        return _runner.UpscaleToMLImage(rgb);
    }

    /// <summary>Upscales an ImageSharp image into a new one, alpha kept (fully opaque input gives opaque output).</summary>
    /// <remarks>
    /// The output is assembled in the returned image as the tiles come (4 bytes per output pixel, with no other
    /// full-size copy): a 4000 x 3000 photo at x4 needs the 768 MB of the 16000 x 12000 result plus one tile's activations.
    /// </remarks>
    public Image<Rgba32> Upscale(Image<Rgba32> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rgb = ImageFiles.FromImageSharp(image, keepAlpha: true);
        if (rgb.Alpha is { } alpha && Array.TrueForAll(alpha, a => a == 255))
            rgb = new RgbImage(rgb.Width, rgb.Height, rgb.Planes);
        return Run(rgb);
    }

    /// <summary>Reads an image file, upscales it, and writes <paramref name="outputPath"/> (format from its extension: .png, .jpg, .webp, .bmp) atomically.</summary>
    public void UpscaleFile(string inputPath, string outputPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ImageFiles.FormatOf(outputPath); // fail before the work when the extension is unknown
        var input = ImageFiles.Read(inputPath, MaxInputPixels, _metadataLimits);
        Warn(inputPath, input.Warning);
        using var upscaled = Run(input.Image);
        ImageFiles.Write(upscaled, input.Grayscale, input.Image.Alpha is not null, outputPath, JpegQuality);
    }

    /// <summary>Reads an encoded image from <paramref name="input"/>, upscales it, and encodes it to <paramref name="output"/>.</summary>
    public void Upscale(Stream input, Stream output, SrImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(output);
        const string Name = "the input stream";
        var decoded = ImageFiles.Read(input, Name, MaxInputPixels, _metadataLimits);
        Warn(Name, decoded.Warning);
        using var upscaled = Run(decoded.Image);
        ImageFiles.Write(upscaled, decoded.Grayscale, decoded.Image.Alpha is not null, output, format, JpegQuality);
    }

    private void Warn(string source, string? message)
    {
        if (message is not null)
            Warning?.Invoke(this, new SrWarningEventArgs(source, message));
    }

    /// <summary>The innermost exception: ML.NET wraps a loader's own error in its class-instantiation errors.</summary>
    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    /// <summary>Upscales into a new ImageSharp image, written tile by tile (the only full-size copy of the output).</summary>
    private Image<Rgba32> Run(RgbImage image)
    {
        CheckNotDisposed();
        var (width, height) = _runner.OutputSize(image);
        var result = new Image<Rgba32>(width, height);
        try
        {
            using var progress = ReportTiles();
            if (_runner.UpscaleInto(image, (rgb, left, top, w, h) => ImageFiles.WriteRgb(result, rgb, left, top, w, h)) is { } alpha)
                ImageFiles.SetAlpha(result, alpha);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private IDisposable ReportTiles()
        => global::MLNet.SuperResolution.Inference.TileProgress.Report(TileProgress is null ? null : (done, total) => TileProgress?.Invoke(this, new SrTileProgressEventArgs(done, total)));

    private void CheckNotDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Disposes what <see cref="FromModelFile"/> loaded (nothing for <see cref="FromTransformer"/>).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        foreach (var owned in _owned)
            owned.Dispose();
    }
}
