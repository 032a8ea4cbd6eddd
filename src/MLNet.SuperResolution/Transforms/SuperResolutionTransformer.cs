using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Internal.Utilities;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using MLNet.SuperResolution;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Weights;
using TorchSharp;

[assembly: LoadableClass(typeof(SuperResolutionTransformer), null, typeof(SignatureLoadModel),
    SuperResolutionTransformer.UserName, SuperResolutionTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IRowMapper), typeof(SuperResolutionTransformer), null, typeof(SignatureLoadRowMapper),
    SuperResolutionTransformer.UserName, SuperResolutionTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IDataTransform), typeof(SuperResolutionTransformer), null, typeof(SignatureLoadDataTransform),
    SuperResolutionTransformer.UserName, SuperResolutionTransformer.LoaderSignature)]

namespace MLNet.SuperResolution;

/// <summary>
/// Upscales the images of one column with a super-resolution network (or MATLAB bicubic) into a new image column
/// (<see cref="MLImage"/>, BGRA32, like <c>LoadImages</c> produces). Made by
/// <c>mlContext.Transforms.SuperResolution(...)</c> (trained) or <c>ApplySuperResolutionModel(...)</c> (given weights).
/// Saved and loaded with <c>mlContext.Model.Save/Load</c>, network weights included.
/// </summary>
public sealed class SuperResolutionTransformer : ImageToImageTransformerBase, IDisposable
{
    internal const string UserName = "Super-Resolution Transform";
    internal const string LoaderSignature = "SuperResolutionTransform";
    private const string NetworkStreamName = "SRNetwork";
    private const string RegistrationName = "SuperResolution";

    private readonly SrUpscaler _upscaler;

    internal SuperResolutionTransformer(IHostEnvironment env, string outputColumnName, string inputColumnName,
        SrUpscaler upscaler, SrNetworkOptions networkOptions, string? requestedDevice, string deviceName, SrTrainingSummary? trainingSummary)
        : base(Contracts.CheckRef(env, nameof(env)).Register(RegistrationName), outputColumnName, inputColumnName)
    {
        _upscaler = upscaler;
        NetworkOptions = networkOptions;
        _requestedDevice = requestedDevice;
        DeviceName = deviceName;
        TrainingSummary = trainingSummary;
        WarnIfPrecisionFallsBack();
    }

    /// <summary>Logs a warning (ML.NET's log) when the options ask for bfloat16 and this CPU runs float32 instead.</summary>
    private void WarnIfPrecisionFallsBack()
    {
        if (_upscaler.PrecisionFallback is not { } reason)
            return;
        using var channel = Host.Start(RegistrationName);
        channel.Warning(reason);
    }

    /// <summary>The network.</summary>
    public SrArchitecture Architecture => _upscaler.Architecture;

    /// <summary>The upscaling factor.</summary>
    public int Scale => _upscaler.Scale;

    /// <summary>The channels the network sees.</summary>
    public SrChannels Channels => _upscaler.Channels;

    /// <summary>The network's hyper-parameters (a preset's or custom).</summary>
    public SrNetworkOptions NetworkOptions { get; }

    /// <summary>
    /// The torch device the network runs on ("cpu", "cuda", "cuda:1"): the one the options named, or the
    /// <c>MLContext</c>'s choice (<c>GpuDeviceId</c>, <c>FallbackToCpu</c>) when they named none.
    /// </summary>
    public string DeviceName { get; }

    // The device the options named; null: the MLContext decides, when the model is made and again when it is loaded.
    private readonly string? _requestedDevice;

    // Saved in place of a device name when the options named none.
    private const string DeviceOfTheContext = "mlcontext";

    /// <summary>Number of trainable parameters of the network (0 for bicubic).</summary>
    public long ParameterCount => _upscaler.Network?.TrainableParameterCount ?? 0;

    /// <summary>How training went, when this transformer was trained (null for given weights or bicubic).</summary>
    public SrTrainingSummary? TrainingSummary { get; }

    /// <summary>Tiling and self-ensemble used when upscaling (a copy; saved with the model).</summary>
    public SrInferenceOptions Inference => _upscaler.Inference.Clone();

    internal SrUpscaler Upscaler => _upscaler;

    /// <summary>
    /// This model against bicubic interpolation on the library's built-in check patches (<see cref="SrBicubicComparison"/>):
    /// a quick test that weights belong to this network, scale and channel mode, or that training got somewhere. Its
    /// <see cref="SrBicubicComparison.Warning"/> says what is wrong when the model is below bicubic. Bicubic compares equal.
    /// </summary>
    public SrBicubicComparison CompareWithBicubic() => SrBicubicComparison.Measure(_upscaler);

    /// <summary>
    /// Writes the network's weights as a PyTorch state_dict: safetensors when <paramref name="path"/> ends in
    /// <c>.safetensors</c>, else torch.save's zip format (<c>.pth</c>). Keys follow the reference implementation
    /// (<see cref="SrModelZoo"/> names it), so the file loads there; the network's description (architecture, scale, channels,
    /// options) goes with it (safetensors metadata; a zip entry torch.load ignores), so the file opens here again with
    /// nothing said about it: <see cref="SrModelFile.Inspect"/>, <c>ApplySuperResolutionModel(output, input, path)</c>,
    /// <see cref="SuperResolutionOptions.InitialWeightsPath"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The transformer is bicubic (no weights).</exception>
    public void SaveWeights(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var network = _upscaler.Network
            ?? throw new InvalidOperationException($"{Architecture} has no weights to save.");
        PyTorchWeights.Save(network, path, WeightsWriter.Describe(Architecture, Scale, Channels, NetworkOptions));
    }

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "SRESTRNS",
        verWrittenCur: 0x00010007, // Device: "mlcontext" when the options named none
        verReadableCur: 0x00010007,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(SuperResolutionTransformer).Assembly.FullName);

    private const int VersionWithNetworkOptions = 0x00010002;
    private const int VersionWithInferenceOptions = 0x00010003;
    private const int VersionWithValidations = 0x00010003;
    private const int VersionWithSkippedRows = 0x00010004;
    private const int VersionWithPrecision = 0x00010005;
    private const int VersionWithAutomaticLayout = 0x00010006;
    private const byte ChannelsLastAutomatic = 2; // the layout byte: 0 false, 1 true, 2 automatic (null)

    /// <summary>Saves the model (called by ML.NET's model saving).</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        _upscaler.ThrowIfDisposed(); // a disposed network saves no weights: the file would not load
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());

        // *** Binary format ***
        // <base>: the column pair
        // int: architecture (SrArchitecture)
        // int: scale
        // int: channels (SrChannels)
        // string id: network options as JSON (the architecture's options record)   [since 0x00010002; before: paper preset]
        // string id: device the options named ("cpu", "cuda", ...); "mlcontext" when none  [since 0x00010007; before: always a name]
        // bool: has training summary; if so: int steps, int skipped steps, int patch size, double seconds,
        //       int epoch count, double[epoch count] epoch losses,
        //       [since 0x00010003] int stop reason (SrStopReason), int validation count, (int epoch, int step, double psnr)[count]
        //       [since 0x00010004] int skipped training rows, int skipped validation rows
        // bool: has network; if so the weights are in the binary stream "SRNetwork" (TorchSharp's module format)
        // int: tile size (0: automatic), int: tile overlap (-1: receptive field), long: max untiled pixels,
        //      bool: self-ensemble                                                  [since 0x00010003; before: defaults]
        //      bool: channels-last, int: precision (SrPrecision)                    [since 0x00010005; before: false, Float32]
        //      (the channels-last byte is 0 false, 1 true, 2 automatic)             [since 0x00010006; before: 0 or 1]
        SaveColumns(ctx);
        ctx.Writer.Write((int)Architecture);
        ctx.Writer.Write(Scale);
        ctx.Writer.Write((int)Channels);
        ctx.SaveNonEmptyString(NetworkFactory.SerializeOptions(NetworkOptions));
        ctx.SaveNonEmptyString(_requestedDevice ?? DeviceOfTheContext);
        ctx.Writer.WriteBoolByte(TrainingSummary is not null);
        if (TrainingSummary is { } summary)
        {
            ctx.Writer.Write(summary.Steps);
            ctx.Writer.Write(summary.SkippedNonFiniteSteps);
            ctx.Writer.Write(summary.PatchSize);
            ctx.Writer.Write(summary.Duration.TotalSeconds);
            ctx.Writer.Write(summary.EpochLosses.Count);
            foreach (double loss in summary.EpochLosses)
                ctx.Writer.Write(loss);
            ctx.Writer.Write((int)summary.StopReason);
            ctx.Writer.Write(summary.Validations.Count);
            foreach (var validation in summary.Validations)
            {
                ctx.Writer.Write(validation.Epoch);
                ctx.Writer.Write(validation.Step);
                ctx.Writer.Write(validation.Psnr);
            }

            ctx.Writer.Write(summary.SkippedTrainingRows);
            ctx.Writer.Write(summary.SkippedValidationRows);
        }

        ctx.Writer.WriteBoolByte(_upscaler.Network is not null);
        if (_upscaler.Network is { } network)
            ctx.SaveBinaryStream(NetworkStreamName, writer => network.save(writer));
        var inference = _upscaler.Inference;
        ctx.Writer.Write(inference.TileSize ?? 0);
        ctx.Writer.Write(inference.TileOverlap ?? -1);
        ctx.Writer.Write(inference.MaxUntiledPixels);
        ctx.Writer.WriteBoolByte(inference.SelfEnsemble);
        ctx.Writer.Write(inference.ChannelsLast switch { null => ChannelsLastAutomatic, true => (byte)1, false => (byte)0 });
        ctx.Writer.Write((int)inference.Precision);
    }

    // Factory method for SignatureLoadModel. The guard runs before any method that touches ML.NET's internals is compiled.
    private static SuperResolutionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        MLNetInternals.EnsureAvailable();
        return Load(env, ctx);
    }

    private static SuperResolutionTransformer Load(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        var host = env.Register(RegistrationName);
        host.CheckValue(ctx, nameof(ctx));
        ModelVersions.CheckNotNewer(host, ctx, GetVersionInfo(), "super-resolution transform");
        ctx.CheckAtModel(GetVersionInfo());
        return new SuperResolutionTransformer(host, ctx);
    }

    // Factory method for SignatureLoadDataTransform.
    private static IDataTransform Create(IHostEnvironment env, ModelLoadContext ctx, IDataView input)
        => Create(env, ctx).MakeDataTransform(input);

    // Factory method for SignatureLoadRowMapper.
    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    private SuperResolutionTransformer(IHost host, ModelLoadContext ctx)
        : base(host, ctx)
    {
        // See SaveModel for the binary format.
        var architecture = (SrArchitecture)ctx.Reader.ReadInt32();
        int scale = ctx.Reader.ReadInt32();
        var channels = (SrChannels)ctx.Reader.ReadInt32();
        if (!Enum.IsDefined(architecture) || !Enum.IsDefined(channels))
            throw host.ExceptDecode($"The model names architecture {(int)architecture} / channels {(int)channels}, which this version of MLNet.SuperResolution does not know; it was probably saved by a newer version.");
        var networkOptions = ctx.Header.ModelVerWritten >= VersionWithNetworkOptions
            ? NetworkFactory.DeserializeOptions(architecture, ctx.LoadNonEmptyString())
            : NetworkFactory.ResolveOptions(architecture, SrPreset.Paper, null);
        string savedDevice = ctx.LoadNonEmptyString();
        SrTrainingSummary? summary = null;
        if (ctx.Reader.ReadBoolByte())
        {
            int steps = ctx.Reader.ReadInt32();
            int skipped = ctx.Reader.ReadInt32();
            int patchSize = ctx.Reader.ReadInt32();
            double seconds = ctx.Reader.ReadDouble();
            int count = ctx.Reader.ReadInt32();
            host.CheckDecode(count >= 0 && count < 1_000_000);
            var losses = new double[count];
            for (int i = 0; i < count; i++)
                losses[i] = ctx.Reader.ReadDouble();
            var stopReason = SrStopReason.Completed;
            var validations = new List<SrValidationResult>();
            if (ctx.Header.ModelVerWritten >= VersionWithValidations)
            {
                stopReason = (SrStopReason)ctx.Reader.ReadInt32();
                int validationCount = ctx.Reader.ReadInt32();
                host.CheckDecode(Enum.IsDefined(stopReason) && validationCount >= 0 && validationCount < 1_000_000);
                for (int i = 0; i < validationCount; i++)
                    validations.Add(new SrValidationResult(ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32(), ctx.Reader.ReadDouble()));
            }

            summary = new SrTrainingSummary(steps, skipped, losses, TimeSpan.FromSeconds(seconds), patchSize, stopReason, validations);
            if (ctx.Header.ModelVerWritten >= VersionWithSkippedRows)
            {
                summary.SkippedTrainingRows = ctx.Reader.ReadInt32();
                summary.SkippedValidationRows = ctx.Reader.ReadInt32();
                host.CheckDecode(summary.SkippedTrainingRows >= 0 && summary.SkippedValidationRows >= 0);
            }
        }

        // A model saved without a device follows the loading context; one trained on a named GPU still loads where
        // there is none: it runs on the CPU then.
        string? requestedDevice = savedDevice == DeviceOfTheContext ? null
            : savedDevice != "cpu" && !torch.cuda.is_available() ? "cpu" : savedDevice;
        SrNetwork? network = null;
        if (ctx.Reader.ReadBoolByte())
        {
            network = CreateWithinWeights(ctx, host, architecture, scale, channels, networkOptions);
            bool found;
            try
            {
                found = ctx.TryLoadBinaryStream(NetworkStreamName, reader => network.load(reader, strict: true));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                network.Dispose();
                throw host.ExceptDecode(e, $"The {architecture} x{scale} weights in the model could not be loaded ({e.GetType().Name}: {e.Message}); " +
                                           "the file is corrupt or was edited. Nothing was loaded.");
            }

            var bad = found ? NonFiniteParameters(network) : [];
            if (!found || bad.Count > 0)
            {
                network.Dispose();
                throw !found
                    ? host.ExceptDecode($"The model zip has no '{NetworkStreamName}' stream with the {architecture} weights; the file is incomplete.")
                    : host.ExceptDecode($"The {architecture} weights in the model hold NaN or infinite values ({string.Join(", ", bad.Take(5))}" +
                                        $"{(bad.Count > 5 ? ", ..." : string.Empty)}): the file is corrupt, tampered with, or was saved from a diverged run.");
            }
        }

        // Models saved before automatic channels-last (0x00010006) ran in the NCHW layout unless they said otherwise: kept so.
        var inference = new SrInferenceOptions { ChannelsLast = ctx.Header.ModelVerWritten >= VersionWithAutomaticLayout ? null : false };
        if (ctx.Header.ModelVerWritten >= VersionWithInferenceOptions)
        {
            int tileSize = ctx.Reader.ReadInt32();
            int overlap = ctx.Reader.ReadInt32();
            inference.TileSize = tileSize == 0 ? null : tileSize;
            inference.TileOverlap = overlap == -1 ? null : overlap;
            inference.MaxUntiledPixels = ctx.Reader.ReadInt64();
            inference.SelfEnsemble = ctx.Reader.ReadBoolByte();
        }

        if (ctx.Header.ModelVerWritten >= VersionWithPrecision)
        {
            if (ctx.Header.ModelVerWritten >= VersionWithAutomaticLayout)
            {
                byte layout = ctx.Reader.ReadByte();
                inference.ChannelsLast = layout switch
                {
                    0 => false,
                    1 => true,
                    ChannelsLastAutomatic => null,
                    _ => throw host.ExceptDecode($"The model's channels-last setting {layout} is unknown (0, 1 or 2); the file is corrupt or was edited."),
                };
            }
            else
            {
                inference.ChannelsLast = ctx.Reader.ReadBoolByte(); // saved before automatic existed: kept as saved
            }

            inference.Precision = (SrPrecision)ctx.Reader.ReadInt32();
            if (!Enum.IsDefined(inference.Precision))
                throw host.ExceptDecode($"The model's inference precision {(int)inference.Precision} is unknown; the file is corrupt or was edited.");
        }

        var device = TorchDevices.Resolve(requestedDevice, host);
        _upscaler = new SrUpscaler(architecture, scale, channels, network, device.Device, inference);
        NetworkOptions = networkOptions;
        _requestedDevice = requestedDevice;
        DeviceName = device.Name;
        TrainingSummary = summary;
        WarnIfPrecisionFallsBack();
    }

    /// <summary>Upscales straight into the output image's BGRA buffer (no planar copy of the output).</summary>
    private protected override MLImage Map(RgbImage input, Func<string> where) => _upscaler.UpscaleToMLImage(input);

    /// <summary>
    /// Builds the network the saved options describe, allowed no more convolution weights than the saved weights
    /// stream holds (its bytes counted by reading it through, nothing kept): options edited in a small zip cannot make
    /// the loader allocate a network far larger than the file before the weights are compared with it.
    /// </summary>
    private static SrNetwork CreateWithinWeights(ModelLoadContext ctx, IHost host, SrArchitecture architecture, int scale, SrChannels channels,
        SrNetworkOptions options)
    {
        long bytes = 0;
        ctx.TryLoadBinaryStream(NetworkStreamName, reader =>
        {
            var buffer = new byte[1 << 16];
            int n;
            while (bytes < MaxCountedWeightBytes && (n = reader.BaseStream.Read(buffer, 0, buffer.Length)) > 0)
                bytes += n;
        });
        long elements = bytes / sizeof(float);
        try
        {
            using (ConstructionBudget.Limit(elements + elements / 2 + (4L << 20)))
                return NetworkFactory.Create(architecture, scale, channels.NetworkChannels(), options);
        }
        catch (InvalidDataException e)
        {
            throw host.ExceptDecode(e, $"The model's {architecture} x{scale} options describe a network that does not fit its saved weights ({bytes:N0} bytes): " +
                                       $"{e.Message}. The file is corrupt or was edited. Nothing was loaded.");
        }
    }

    // Counting stops here: a weights stream this long gives the network all the room it can use.
    private const long MaxCountedWeightBytes = 64L << 30;

    /// <summary>Names of the parameters and buffers holding NaN or infinity.</summary>
    private static List<string> NonFiniteParameters(torch.nn.Module network)
    {
        using var scope = torch.NewDisposeScope();
        return network.state_dict()
            .Where(p => p.Value.is_floating_point() && !p.Value.isfinite().all().item<bool>())
            .Select(p => p.Key)
            .ToList();
    }

    /// <summary>Releases the network's tensors.</summary>
    public void Dispose() => _upscaler.Dispose();
}
