using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Weights;

namespace MLNet.SuperResolution;

/// <summary>
/// Applies a super-resolution network with given weights (or MATLAB bicubic) to an image column, like
/// <c>ApplyOnnxModel</c>: the network is built and its weights loaded when the estimator is created, and fitting
/// does not train.
/// </summary>
/// <remarks>
/// Estimator characteristics:
/// <list type="bullet">
/// <item><description>Needs training: no (the weights are loaded when the estimator is made; <c>Fit</c> checks the schema).</description></item>
/// <item><description>Input column: <see cref="Microsoft.ML.Data.MLImage"/>, any size.</description></item>
/// <item><description>Output column: <see cref="Microsoft.ML.Data.MLImage"/> (BGRA32), <c>scale</c> times the input's size, alpha kept.</description></item>
/// <item><description>Saved and loaded with <c>mlContext.Model.Save</c> / <c>Load</c>; not exportable with ML.NET's <c>ConvertToOnnx</c>.</description></item>
/// </list>
/// </remarks>
public sealed class ApplySuperResolutionModelEstimator : IEstimator<SuperResolutionTransformer>
{
    private readonly IHost _host;
    private readonly SuperResolutionTransformer _transformer;

    internal ApplySuperResolutionModelEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName,
        SrArchitecture architecture, int scale, string? weightsPath, SrChannels channels, string? device,
        SrPreset preset = SrPreset.Paper, SrNetworkOptions? networkOptions = null, SrInferenceOptions? inference = null)
        : this(env, outputColumnName, inputColumnName, architecture, scale, weightsPath, channels, device, preset, networkOptions, inference, defaultWeights: false)
    {
    }

    /// <summary>The embedded default weights (<see cref="SrDefaultModel"/>) for <paramref name="scale"/>.</summary>
    internal ApplySuperResolutionModelEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, int scale, string? device,
        SrInferenceOptions? inference)
        : this(env, outputColumnName, inputColumnName, SrDefaultModel.Architecture, scale, null, SrDefaultModel.Channels, device, SrPreset.Paper,
            SrDefaultModel.NetworkOptions, inference, defaultWeights: true)
    {
    }

    /// <summary>
    /// A community model file (or any weights file of a network this library detects): architecture, scale, channels
    /// and every hyper-parameter read from its keys and shapes (<see cref="SrModelFile"/>).
    /// </summary>
    internal ApplySuperResolutionModelEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, string modelPath, string? device,
        SrInferenceOptions? inference)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(ApplySuperResolutionModelEstimator));
        _host.CheckNonEmpty(outputColumnName, nameof(outputColumnName));
        _host.CheckNonEmpty(inputColumnName, nameof(inputColumnName));
        _host.CheckNonEmpty(modelPath, nameof(modelPath));
        var (torchDevice, deviceName) = TorchDevices.Resolve(device, env);
        inference?.Validate(nameof(inference));
        var model = SrModelFile.Detect(modelPath);
        var network = model.CreateNetwork();
        var channels = model.ChannelMode;
        var upscaler = new SrUpscaler(model.Architecture, model.Scale, channels, network, torchDevice, inference);
        _transformer = new SuperResolutionTransformer(env, outputColumnName, inputColumnName, upscaler, model.Options, device, deviceName, trainingSummary: null);
    }

    private ApplySuperResolutionModelEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName,
        SrArchitecture architecture, int scale, string? weightsPath, SrChannels channels, string? device,
        SrPreset preset, SrNetworkOptions? networkOptions, SrInferenceOptions? inference, bool defaultWeights)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(ApplySuperResolutionModelEstimator));
        _host.CheckNonEmpty(outputColumnName, nameof(outputColumnName));
        _host.CheckNonEmpty(inputColumnName, nameof(inputColumnName));
        var (torchDevice, deviceName) = TorchDevices.Resolve(device, env);
        inference?.Validate(nameof(inference));
        var options = NetworkFactory.ResolveOptions(architecture, preset, networkOptions);
        SrNetwork? network = null;
        if (defaultWeights)
        {
            network = SrDefaultModel.CreateNetwork(scale);
        }
        else if (architecture != SrArchitecture.Bicubic)
        {
            if (string.IsNullOrWhiteSpace(weightsPath))
                throw new ArgumentException(
                    $"{architecture} needs weights: pass weightsPath (a PyTorch state_dict .pth), or train one with mlContext.Transforms.SuperResolution(...).",
                    nameof(weightsPath));
            network = NetworkFactory.Create(architecture, scale, channels.NetworkChannels(), options);
            PyTorchWeights.Load(network, weightsPath);
        }
        else
        {
            if (!NetworkFactory.SupportedScales(architecture).Contains(scale))
                throw new ArgumentOutOfRangeException(nameof(scale), scale,
                    $"Scale {scale} is not supported by {architecture}; supported: {string.Join(", ", NetworkFactory.SupportedScales(architecture))}.");
            if (!string.IsNullOrWhiteSpace(weightsPath))
                throw new ArgumentException("Bicubic has no weights; leave weightsPath empty.", nameof(weightsPath));
        }

        var upscaler = new SrUpscaler(architecture, scale, channels, network, torchDevice, inference);
        _transformer = new SuperResolutionTransformer(env, outputColumnName, inputColumnName, upscaler, options, device, deviceName, trainingSummary: null);
    }

    /// <summary>The transformer (for code that has no data view to fit on).</summary>
    internal SuperResolutionTransformer Transformer => _transformer;

    /// <summary>Returns the transformer after checking that the input column is an image column; nothing is trained.</summary>
    public SuperResolutionTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        ImageColumns.Check(_host, input.Schema, _transformer.InputColumnName, "input");
        return _transformer;
    }

    /// <summary>Adds the output image column to the schema.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => ImageColumns.WithImageOutput(_host, inputSchema, _transformer.OutputColumnName, (_transformer.InputColumnName, "input"));
}
