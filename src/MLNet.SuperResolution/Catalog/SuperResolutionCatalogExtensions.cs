using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLNet.SuperResolution;

/// <summary>
/// The front door: <c>mlContext.Transforms.DownscaleImages</c>, <c>.SuperResolution</c>,
/// <c>.ApplySuperResolutionModel</c> and <c>mlContext.SuperResolution().Evaluate</c>.
/// </summary>
/// <example>
/// <code>
/// var pipeline = ml.Transforms.LoadImages("HighRes", imageFolder: null, inputColumnName: "Path")
///     .Append(ml.Transforms.DownscaleImages("LowRes", scale: 2, inputColumnName: "HighRes"))
///     .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions { Architecture = SrArchitecture.Espcn, Scale = 2 }));
/// </code>
/// The package readme (its NuGet page) has a runnable sample.
/// </example>
public static class SuperResolutionCatalogExtensions
{
    /// <summary>
    /// Makes low-resolution images the way SR papers do: crop to a multiple of <paramref name="scale"/> (top-left),
    /// then MATLAB's <c>imresize(x, 1/scale, 'bicubic')</c> exactly.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The new low-resolution image column.</param>
    /// <param name="scale">The downscaling factor, 1 to 8 (1: the image unchanged, for x1 restoration networks).</param>
    /// <param name="inputColumnName">The high-resolution image column; null means the same as <paramref name="outputColumnName"/>.</param>
    public static DownscaleImagesEstimator DownscaleImages(this TransformsCatalog catalog, string outputColumnName, int scale, string? inputColumnName = null)
        => new(Environment(catalog), outputColumnName, inputColumnName ?? outputColumnName, scale);

    /// <summary>
    /// Encodes each image of an image column into a file's bytes (a variable-length byte vector): the way to get an
    /// upscaled image out of a <c>PredictionEngine</c>, whose output class can hold a <c>byte[]</c> but not an
    /// <see cref="Microsoft.ML.Data.MLImage"/>. Needs no training.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The new column of encoded files.</param>
    /// <param name="inputColumnName">The image column (e.g. a super-resolution output).</param>
    /// <param name="format">The file format: PNG (default, lossless, alpha kept), JPEG, WebP (lossless) or BMP.</param>
    /// <param name="jpegQuality">The JPEG quality, 1..100, for <see cref="SrImageFormat.Jpeg"/>.</param>
    public static EncodeImagesEstimator EncodeImages(this TransformsCatalog catalog, string outputColumnName, string inputColumnName,
        SrImageFormat format = SrImageFormat.Png, int jpegQuality = EncodeImagesTransformer.DefaultJpegQuality)
        => new(Environment(catalog), outputColumnName, inputColumnName, format, jpegQuality);

    /// <summary>Trains a super-resolution network; see <see cref="SuperResolutionOptions"/> for every setting.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Network, scale, columns and training settings.</param>
    public static SuperResolutionEstimator SuperResolution(this TransformsCatalog catalog, SuperResolutionOptions options)
        => new(Environment(catalog), options);

    /// <summary>Trains a super-resolution network with default training settings.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The upscaled image column to create.</param>
    /// <param name="inputColumnName">The low-resolution image column.</param>
    /// <param name="labelColumnName">The high-resolution ground-truth image column.</param>
    /// <param name="architecture">The network.</param>
    /// <param name="scale">The upscaling factor.</param>
    /// <param name="epochs">Training epochs.</param>
    public static SuperResolutionEstimator SuperResolution(this TransformsCatalog catalog, string outputColumnName = "SuperRes",
        string inputColumnName = "LowRes", string labelColumnName = "HighRes", SrArchitecture architecture = SrArchitecture.Espcn,
        int scale = 2, int epochs = 10)
        => new(Environment(catalog), new SuperResolutionOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            LabelColumnName = labelColumnName,
            Architecture = architecture,
            Scale = scale,
            Epochs = epochs,
        });

    /// <summary>
    /// Upscales an image column with a network and given weights, or with MATLAB bicubic
    /// (<see cref="SrArchitecture.Bicubic"/>, no weights). Like <c>ApplyOnnxModel</c>, fitting does not train.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The upscaled image column to create.</param>
    /// <param name="inputColumnName">The low-resolution image column.</param>
    /// <param name="architecture">The network the weights are for.</param>
    /// <param name="scale">The upscaling factor.</param>
    /// <param name="weightsPath">A PyTorch state_dict (.pth, as <c>torch.save(model.state_dict())</c> writes) whose keys and shapes match the network.</param>
    /// <param name="channels">Whether the weights are for RGB or the Y channel.</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N"; null follows the MLContext (<c>GpuDeviceId</c>, <c>FallbackToCpu</c>).</param>
    /// <param name="preset">The network configuration the weights are for (default the paper's).</param>
    /// <param name="networkOptions">Custom hyper-parameters the weights are for; overrides <paramref name="preset"/>.</param>
    /// <param name="inference">Tiling of large images and self-ensemble; null means the defaults (see <see cref="SrInferenceOptions"/>).</param>
    public static ApplySuperResolutionModelEstimator ApplySuperResolutionModel(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName, SrArchitecture architecture, int scale, string? weightsPath = null, SrChannels channels = SrChannels.Rgb,
        string? device = null, SrPreset preset = SrPreset.Paper, SrNetworkOptions? networkOptions = null, SrInferenceOptions? inference = null)
        => new(Environment(catalog), outputColumnName, inputColumnName, architecture, scale, weightsPath, channels, device, preset, networkOptions, inference);

    /// <summary>
    /// Upscales an image column with a model file whose network is detected from its keys and shapes: a community
    /// model (ESRGAN, Real-ESRGAN x4plus/x2plus, BSRGAN, Compact, ... as .pth, .pt, .ckpt or .safetensors, wrapped in
    /// params_ema or state_dict, float16 or bfloat16) or a state_dict this library saved. Read without running
    /// anything from the file; architecture, scale and hyper-parameters need not be given (<see cref="SrModelFile.Inspect"/>
    /// says what was found). Fitting does not train.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The upscaled image column to create.</param>
    /// <param name="inputColumnName">The low-resolution image column.</param>
    /// <param name="modelPath">The weights file.</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N"; null follows the MLContext (<c>GpuDeviceId</c>, <c>FallbackToCpu</c>).</param>
    /// <param name="inference">Tiling of large images and self-ensemble; null means the defaults (see <see cref="SrInferenceOptions"/>).</param>
    /// <exception cref="InvalidDataException">The file is not a weights file, is hostile, or holds a network this library does not recognise (the closest families are named).</exception>
    public static ApplySuperResolutionModelEstimator ApplySuperResolutionModel(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName, string modelPath, string? device = null, SrInferenceOptions? inference = null)
        => new(Environment(catalog), outputColumnName, inputColumnName, modelPath, device, inference);

    /// <summary>
    /// Upscales an image column with the weights embedded in the library (<see cref="SrDefaultModel"/>: a small EDSR
    /// trained for x2, x3 and x4; <see cref="SrDefaultModel"/>). Fitting does not train.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The upscaled image column to create.</param>
    /// <param name="inputColumnName">The low-resolution image column.</param>
    /// <param name="scale">The upscaling factor, one of <see cref="SrDefaultModel.Scales"/>.</param>
    /// <param name="device">"cpu", "cuda" or "cuda:N"; null follows the MLContext (<c>GpuDeviceId</c>, <c>FallbackToCpu</c>).</param>
    /// <param name="inference">Tiling of large images and self-ensemble; null means the defaults (see <see cref="SrInferenceOptions"/>).</param>
    public static ApplySuperResolutionModelEstimator ApplySuperResolutionModel(this TransformsCatalog catalog, string outputColumnName,
        string inputColumnName, int scale, string? device = null, SrInferenceOptions? inference = null)
        => new(Environment(catalog), outputColumnName, inputColumnName, scale, device, inference);

    /// <summary>Super-resolution operations that are not transforms, such as <c>Evaluate</c>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    public static SuperResolutionCatalog SuperResolution(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        MLNetInternals.EnsureAvailable();
        return new(mlContext);
    }

    // The guard runs before any method that touches ML.NET's internals is compiled.
    private static IHostEnvironment Environment(TransformsCatalog catalog)
    {
        MLNetInternals.EnsureAvailable();
        return EnvironmentOf(catalog);
    }

    private static IHostEnvironment EnvironmentOf(TransformsCatalog catalog) => CatalogUtils.GetEnvironment(catalog);
}
