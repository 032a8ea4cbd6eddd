using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Metrics;
using MLNet.SuperResolution.Training;
using MLNet.SuperResolution.Weights;
using TorchSharp;

namespace MLNet.SuperResolution;

/// <summary>
/// Trains a super-resolution network on pairs of low-resolution and high-resolution image columns and returns a
/// <see cref="SuperResolutionTransformer"/> that upscales the low-resolution column. Reports through ML.NET's log
/// (<c>mlContext.Log</c>: "Loss:" lines every <see cref="SuperResolutionOptions.LogEveryNSteps"/> steps) and
/// progress channel, honours cancellation, and seeds from the <see cref="MLContext"/>.
/// </summary>
/// <remarks>
/// Estimator characteristics:
/// <list type="bullet">
/// <item><description>Needs training: yes (<c>Fit</c> trains the network on the data, from random weights or
/// <see cref="SuperResolutionOptions.InitialWeightsPath"/>).</description></item>
/// <item><description>Input columns: the low-resolution images and the high-resolution label images, <see cref="Microsoft.ML.Data.MLImage"/>
/// (e.g. from <c>LoadImages</c> and <c>DownscaleImages</c>), any size; each label is <c>scale</c> times its input.</description></item>
/// <item><description>Output column: <see cref="Microsoft.ML.Data.MLImage"/> (BGRA32), <c>scale</c> times the input's size.</description></item>
/// <item><description>Saved and loaded with <c>mlContext.Model.Save</c> / <c>Load</c>; not exportable with ML.NET's <c>ConvertToOnnx</c>.</description></item>
/// </list>
/// </remarks>
public sealed class SuperResolutionEstimator : IEstimator<SuperResolutionTransformer>
{
    private static readonly object TorchSeedLock = new();
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly SuperResolutionOptions _options;

    internal SuperResolutionEstimator(IHostEnvironment env, SuperResolutionOptions options)
    {
        _env = Contracts.CheckRef(env, nameof(env));
        _host = env.Register(nameof(SuperResolutionEstimator));
        _host.CheckValue(options, nameof(options));
        _options = Resolve(options.Clone());
        Validate(_options);
    }

    /// <summary>
    /// Fills a null <see cref="SuperResolutionOptions.Architecture"/> and <see cref="SuperResolutionOptions.Scale"/>:
    /// from a community model's file given as <see cref="SuperResolutionOptions.InitialWeightsPath"/> (its network,
    /// hyper-parameters, scale and channels, detected), otherwise ESPCN and 2.
    /// </summary>
    private static SuperResolutionOptions Resolve(SuperResolutionOptions o)
    {
        if (o.Architecture is null && o.InitialWeightsPath is { } path && File.Exists(path))
        {
            DetectedModel model;
            try
            {
                model = SrModelFile.Detect(path);
            }
            catch (InvalidDataException e)
            {
                throw new ArgumentException(
                    $"Architecture is not set, so the network to fine-tune is read from InitialWeightsPath, but {e.Message} " +
                    "For weights of a zoo network, set Architecture (and Scale and NetworkOptions).", nameof(o.InitialWeightsPath), e);
            }

            o.Architecture = model.Architecture;
            o.NetworkOptions ??= model.Options;
            o.Scale ??= model.Scale;
            if (model.Channels == 1)
                o.Channels = model.ChannelMode;
        }

        o.Architecture ??= SrArchitecture.Espcn;
        o.Scale ??= 2;
        return o;
    }

    private static void Validate(SuperResolutionOptions o)
    {
        if (o.Architecture == SrArchitecture.Bicubic)
            throw new ArgumentException("Bicubic has nothing to train; use mlContext.Transforms.ApplySuperResolutionModel(..., SrArchitecture.Bicubic, scale).", nameof(o.Architecture));
        var scales = NetworkFactory.SupportedScales(o.ResolvedArchitecture);
        if (!scales.Contains(o.ResolvedScale))
            throw new ArgumentOutOfRangeException(nameof(o.Scale), o.ResolvedScale, $"Scale {o.ResolvedScale} is not supported by {o.ResolvedArchitecture}; supported: {string.Join(", ", scales)}.");
        NetworkFactory.ResolveOptions(o.ResolvedArchitecture, o.Preset, o.NetworkOptions);
        if (!Enum.IsDefined(o.Loss))
            throw new ArgumentOutOfRangeException(nameof(o.Loss), o.Loss, "Unknown loss.");
        if (!Enum.IsDefined(o.LearningRateSchedule))
            throw new ArgumentOutOfRangeException(nameof(o.LearningRateSchedule), o.LearningRateSchedule, "Unknown learning-rate schedule.");
        if (!Enum.IsDefined(o.Channels))
            throw new ArgumentOutOfRangeException(nameof(o.Channels), o.Channels, "Channels must be Rgb, Y or Gray.");
        if (!Enum.IsDefined(o.BadRowHandling))
            throw new ArgumentOutOfRangeException(nameof(o.BadRowHandling), o.BadRowHandling, "BadRowHandling must be Fail or Skip.");
        CheckName(o.InputColumnName, nameof(o.InputColumnName));
        CheckName(o.LabelColumnName, nameof(o.LabelColumnName));
        CheckName(o.OutputColumnName, nameof(o.OutputColumnName));
        CheckPositive(o.Epochs, nameof(o.Epochs));
        CheckPositive(o.PatchesPerImage, nameof(o.PatchesPerImage));
        CheckPositive(o.BatchSize, nameof(o.BatchSize));
        if (o.PatchSize < o.ResolvedScale)
            throw new ArgumentOutOfRangeException(nameof(o.PatchSize), o.PatchSize, $"PatchSize is in HR pixels and must be at least the scale ({o.ResolvedScale}).");
        if (!(o.LearningRate > 0) || !double.IsFinite(o.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(o.LearningRate), o.LearningRate, "LearningRate must be a positive number.");
        if (o.InitialWeightsPath is { } path && !File.Exists(path))
            throw new FileNotFoundException($"InitialWeightsPath '{path}' does not exist.", path);
        if (o.Device is not null)
            TorchDevices.Parse(o.Device);
        if (o.Inference is null)
            throw new ArgumentNullException(nameof(SuperResolutionOptions.Inference), "Inference must not be null; use new SrInferenceOptions() for the defaults.");
        o.Inference.Validate(nameof(SuperResolutionOptions.Inference));
        ValidateOptimisation(o);
        ValidateAdversarial(o);

        static void CheckName(string name, string option)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"{option} must name a column.", option);
        }

        static void CheckPositive(int value, string option)
        {
            if (value <= 0)
                throw new ArgumentOutOfRangeException(option, value, $"{option} must be positive.");
        }
    }

    private static void ValidateOptimisation(SuperResolutionOptions o)
    {
        CheckUnitInterval(o.AdamBeta1, nameof(o.AdamBeta1), "Adam's betas are in [0, 1), typically 0.9 and 0.999");
        CheckUnitInterval(o.AdamBeta2, nameof(o.AdamBeta2), "Adam's betas are in [0, 1), typically 0.9 and 0.999");
        if (!(o.CosineFloor >= 0 && o.CosineFloor <= 1))
            throw new ArgumentOutOfRangeException(nameof(o.CosineFloor), o.CosineFloor, "CosineFloor is a fraction of LearningRate in [0, 1] (default 0.01).");
        if (!(o.Gamma > 0 && o.Gamma <= 1))
            throw new ArgumentOutOfRangeException(nameof(o.Gamma), o.Gamma, "Gamma, the learning-rate decay factor, must be in (0, 1] (e.g. 0.5).");
        if (o.LearningRateSchedule == SrLearningRateSchedule.Step && o.StepSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(o.StepSize), o.StepSize, "StepSize is the number of epochs between learning-rate decays and must be positive.");
        if (o.LearningRateSchedule == SrLearningRateSchedule.MultiStep)
        {
            if (o.Milestones is not { Length: > 0 } milestones)
                throw new ArgumentException("The MultiStep schedule needs Milestones: the epochs after which the learning rate is multiplied by Gamma, e.g. { 100, 150 }.", nameof(o.Milestones));
            for (int i = 0; i < milestones.Length; i++)
            {
                if (milestones[i] <= 0 || (i > 0 && milestones[i] <= milestones[i - 1]))
                    throw new ArgumentException($"Milestones must be positive epoch numbers in strictly increasing order; got {{ {string.Join(", ", milestones)} }}.", nameof(o.Milestones));
            }
        }

        if (o.WarmupSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(o.WarmupSteps), o.WarmupSteps, "WarmupSteps must be 0 (no warm-up) or positive.");
        if (o.GradientClipNorm is { } clip && !(clip > 0 && double.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(o.GradientClipNorm), clip, "GradientClipNorm must be a positive number, or null for no clipping.");
        if (o.EmaDecay is { } decay)
            CheckUnitInterval(decay, nameof(o.EmaDecay), "EmaDecay is in [0, 1), typically 0.999; null turns averaging off");
        if (o.CheckpointEveryNEpochs <= 0)
            throw new ArgumentOutOfRangeException(nameof(o.CheckpointEveryNEpochs), o.CheckpointEveryNEpochs, "CheckpointEveryNEpochs must be positive.");
        if (o.CheckpointDirectory is { } directory && string.IsNullOrWhiteSpace(directory))
            throw new ArgumentException("CheckpointDirectory must name a directory, or be null for no checkpoints.", nameof(o.CheckpointDirectory));
        if (o.ValidationEveryNEpochs <= 0)
            throw new ArgumentOutOfRangeException(nameof(o.ValidationEveryNEpochs), o.ValidationEveryNEpochs, "ValidationEveryNEpochs must be positive.");
        if (o.EarlyStoppingPatience is { } patience && patience <= 0)
            throw new ArgumentOutOfRangeException(nameof(o.EarlyStoppingPatience), patience, "EarlyStoppingPatience counts validations without improvement and must be positive, or null for no early stopping.");
        if ((o.EarlyStoppingPatience is not null || o.KeepBestWeights) && o.ValidationSet is null)
            throw new ArgumentException("KeepBestWeights and EarlyStoppingPatience select by validation PSNR: set ValidationSet too.", nameof(o.ValidationSet));
        if (o.MaxTrainingTime is { } time && time <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(o.MaxTrainingTime), time, "MaxTrainingTime must be positive, or null for no limit.");

        static void CheckUnitInterval(double value, string option, string hint)
        {
            if (!(value >= 0 && value < 1))
                throw new ArgumentOutOfRangeException(option, value, $"{option} must be in [0, 1): {hint}.");
        }
    }

    /// <summary>
    /// The SRGAN options: adversarial training and the perceptual loss train SrResNet only (the discriminator and the
    /// VGG54 loss are SRGAN's, for its generator; LapSRN, DRCN and DRN have multi-output losses of their own).
    /// </summary>
    private static void ValidateAdversarial(SuperResolutionOptions o)
    {
        (string Name, bool Set)[] srganOptions =
        [
            (nameof(o.AdversarialLossWeight), o.AdversarialLossWeight is not null),
            (nameof(o.DiscriminatorLearningRate), o.DiscriminatorLearningRate is not null),
            (nameof(o.DiscriminatorWidth), o.DiscriminatorWidth != SrganDiscriminator.PaperWidth),
            (nameof(o.PixelLossWeight), o.PixelLossWeight != 1),
            (nameof(o.PerceptualLossWeight), o.PerceptualLossWeight is not null),
            (nameof(o.Vgg19WeightsPath), o.Vgg19WeightsPath is not null),
        ];
        if (o.ResolvedArchitecture != SrArchitecture.SrResNet && srganOptions.FirstOrDefault(option => option.Set).Name is { } name)
            throw new ArgumentException(
                $"{name} is an SRGAN option: adversarial training and the perceptual loss train SrResNet (SRGAN's generator) only, and Architecture " +
                $"is {o.ResolvedArchitecture}. Set Architecture = SrArchitecture.SrResNet, or leave {name} at its default.", name);

        int highResPatch = o.PatchSize / o.ResolvedScale * o.ResolvedScale;
        if (o.AdversarialLossWeight is { } weight)
        {
            if (!(weight > 0) || !double.IsFinite(weight))
                throw new ArgumentOutOfRangeException(nameof(o.AdversarialLossWeight), weight,
                    "AdversarialLossWeight must be a positive number (the SRGAN paper's is 1e-3), or null for no adversarial training.");
            if (highResPatch % 16 != 0)
                throw new ArgumentOutOfRangeException(nameof(o.PatchSize), o.PatchSize,
                    $"With AdversarialLossWeight the HR training patch (PatchSize {o.PatchSize} rounded down to a multiple of Scale {o.ResolvedScale}: {highResPatch}) " +
                    $"must be a multiple of 16, as the SRGAN discriminator halves it four times before its dense layer: use e.g. 96 (the paper's) " +
                    $"or {Math.Max(1, highResPatch / (16 * o.ResolvedScale)) * 16 * o.ResolvedScale}.");
            if (o.BatchSize < 2)
                throw new ArgumentOutOfRangeException(nameof(o.BatchSize), o.BatchSize,
                    "With AdversarialLossWeight, BatchSize must be at least 2: the discriminator's batch normalisation needs more than one patch per batch.");
        }
        else
        {
            if (o.DiscriminatorLearningRate is not null)
                throw new ArgumentException("DiscriminatorLearningRate is used only in adversarial training: set AdversarialLossWeight (e.g. 1e-3) too, or leave it null.",
                    nameof(o.DiscriminatorLearningRate));
            if (o.DiscriminatorWidth != SrganDiscriminator.PaperWidth)
                throw new ArgumentException("DiscriminatorWidth is used only in adversarial training: set AdversarialLossWeight (e.g. 1e-3) too, or leave it at 64.",
                    nameof(o.DiscriminatorWidth));
        }

        if (o.DiscriminatorLearningRate is { } rate && !(rate > 0 && double.IsFinite(rate)))
            throw new ArgumentOutOfRangeException(nameof(o.DiscriminatorLearningRate), rate,
                "DiscriminatorLearningRate must be a positive number, or null for the generator's LearningRate.");
        if (o.DiscriminatorWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(o.DiscriminatorWidth), o.DiscriminatorWidth,
                "DiscriminatorWidth, the discriminator's first convolution's channels, must be positive (the paper's is 64).");
        if (!(o.PixelLossWeight >= 0) || !double.IsFinite(o.PixelLossWeight))
            throw new ArgumentOutOfRangeException(nameof(o.PixelLossWeight), o.PixelLossWeight,
                "PixelLossWeight must be 0 (perceptual loss alone) or a positive number (default 1).");

        if (o.PerceptualLossWeight is { } perceptual)
        {
            if (!(perceptual > 0) || !double.IsFinite(perceptual))
                throw new ArgumentOutOfRangeException(nameof(o.PerceptualLossWeight), perceptual,
                    "PerceptualLossWeight must be a positive number, or null for no perceptual loss.");
            if (o.Vgg19WeightsPath is null)
                throw new ArgumentException(
                    "PerceptualLossWeight needs VGG19 weights, which the library neither ships nor downloads: set Vgg19WeightsPath to torchvision's vgg19 " +
                    "state_dict (in Python: torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth')), or leave " +
                    "PerceptualLossWeight null to train with the pixel loss alone.", nameof(o.Vgg19WeightsPath));
            if (o.Channels != SrChannels.Rgb)
                throw new ArgumentException("The perceptual loss compares VGG19 features of RGB images: set Channels = SrChannels.Rgb.", nameof(o.Channels));
            if (highResPatch < 16)
                throw new ArgumentOutOfRangeException(nameof(o.PatchSize), o.PatchSize,
                    "The perceptual loss needs HR patches of at least 16 pixels (VGG19 pools four times before relu5_4).");
        }
        else
        {
            if (o.Vgg19WeightsPath is not null)
                throw new ArgumentException("Vgg19WeightsPath is used only by the perceptual loss: set PerceptualLossWeight too, or leave Vgg19WeightsPath null.",
                    nameof(o.Vgg19WeightsPath));
            if (o.PixelLossWeight == 0)
                throw new ArgumentOutOfRangeException(nameof(o.PixelLossWeight), o.PixelLossWeight,
                    "PixelLossWeight 0 leaves the generator without a content loss: set PerceptualLossWeight (with Vgg19WeightsPath) or a positive PixelLossWeight.");
        }

        if (o.Vgg19WeightsPath is { } path && !File.Exists(path))
            throw new FileNotFoundException($"Vgg19WeightsPath '{path}' does not exist. The perceptual loss needs VGG19 weights that you supply; nothing is downloaded.", path);
    }

    /// <summary>Trains the network on the rows of <paramref name="input"/>.</summary>
    public SuperResolutionTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        var lowColumn = ImageColumns.Check(_host, input.Schema, _options.InputColumnName, "input");
        var highColumn = ImageColumns.Check(_host, input.Schema, _options.LabelColumnName, "label");
        int seed = (_env as IHostEnvironmentInternal)?.Seed ?? _host.Rand.Next();
        var (device, deviceName) = TorchDevices.Resolve(_options.Device, _env);

        using var channel = _host.Start("TrainModel");
        using var progress = _host.StartProgressChannel("Training super-resolution network");
        var trainingRows = new BadRows(_options.BadRowHandling, channel, "training data",
            $"set {nameof(SuperResolutionOptions)}.{nameof(SuperResolutionOptions.BadRowHandling)} = {nameof(SrBadRowHandling)}.{nameof(SrBadRowHandling.Skip)} " +
            $"to leave such rows out (each is logged as a warning and counted in the model's TrainingSummary.{nameof(SrTrainingSummary.SkippedTrainingRows)})");
        var rowIndices = new List<long>();
        var data = ReadPairs(input, lowColumn, highColumn, (low, high) => new TrainingPair(ToChannels(low), ToChannels(high)), trainingRows, rowIndices);
        LeaveOutImagesSmallerThanThePatch(data, rowIndices, trainingRows, channel);
        channel.Info($"Read {data.Count} training image pairs{Skipped(trainingRows)}.");
        List<(RgbImage Low, RgbImage High)>? validation = null;
        var validationRows = new BadRows(_options.BadRowHandling, channel, "validation set",
            $"set {nameof(SuperResolutionOptions)}.{nameof(SuperResolutionOptions.BadRowHandling)} = {nameof(SrBadRowHandling)}.{nameof(SrBadRowHandling.Skip)} " +
            $"to leave such rows out (each is logged as a warning and counted in the model's TrainingSummary.{nameof(SrTrainingSummary.SkippedValidationRows)})");
        SrganDiscriminator? discriminator = null;
        PerceptualLoss? perceptual = null;
        try
        {
            if (_options.ValidationSet is { } validationSet)
            {
                var validationLow = ImageColumns.Check(_host, validationSet.Schema, _options.InputColumnName, "validation input");
                var validationHigh = ImageColumns.Check(_host, validationSet.Schema, _options.LabelColumnName, "validation label");
                validation = ReadPairs(validationSet, validationLow, validationHigh, (low, high) => (low, high), validationRows);
                channel.Info($"Read {validation.Count} validation image pairs{Skipped(validationRows)}.");
            }

            int channels = _options.Channels.NetworkChannels();
            var networkOptions = NetworkFactory.ResolveOptions(_options.ResolvedArchitecture, _options.Preset, _options.NetworkOptions);
            int highResPatch = SrTrainer.LowResPatchSize(data, _options.PatchSize, _options.ResolvedScale) * _options.ResolvedScale;
            if (_options.AdversarialLossWeight is not null && highResPatch % 16 != 0)
                throw new InvalidOperationException(
                    $"The smallest training image reduces the HR patch to {highResPatch} pixels, and the SRGAN discriminator needs a multiple of 16: " +
                    $"set PatchSize to a multiple of 16 and of the scale no larger than {highResPatch}, or train on larger images.");
            SrNetwork network;
            lock (TorchSeedLock)
            {
                torch.random.manual_seed(seed);
                network = NetworkFactory.Create(_options.ResolvedArchitecture, _options.ResolvedScale, channels, networkOptions);
                if (_options.AdversarialLossWeight is not null)
                    discriminator = new SrganDiscriminator(channels, highResPatch, _options.DiscriminatorWidth);
                if (_options.Vgg19WeightsPath is { } vggPath)
                    perceptual = PerceptualLoss.Load(vggPath); // builds layers (the global generator) before copying the file's weights
            }

            if (perceptual is not null)
                channel.Info($"Perceptual loss: VGG19 features through relu5_4 from {_options.Vgg19WeightsPath} " +
                             $"(convolution widths {string.Join(", ", perceptual.Network.Widths.Distinct())}).");

            if (_options.InitialWeightsPath is { } weights)
            {
                var skipped = PyTorchWeights.LoadInitial(network, weights, _options.ResolvedArchitecture, _options.InitialWeightsSkipMismatched);
                channel.Info(skipped.Count == 0
                    ? $"Initial weights: all tensors from {weights}."
                    : $"Initial weights from {weights}; kept as initialised (name or shape differs): {string.Join(", ", skipped)}.");
            }

            var settings = new TrainingSettings(_options.ResolvedScale, _options.Epochs, _options.PatchesPerImage, _options.BatchSize,
                _options.PatchSize, _options.LearningRate, _options.LearningRateSchedule, _options.Loss, seed, _options.LogEveryNSteps, device,
                _options.InjectNonFiniteGradientAtStep)
            {
                AdamBeta1 = _options.AdamBeta1,
                AdamBeta2 = _options.AdamBeta2,
                CosineFloor = _options.CosineFloor,
                StepSize = _options.StepSize,
                Milestones = _options.Milestones ?? Array.Empty<int>(),
                Gamma = _options.Gamma,
                WarmupSteps = _options.WarmupSteps,
                GradientClipNorm = _options.GradientClipNorm,
                EmaDecay = _options.EmaDecay,
                NetworkName = _options.ResolvedArchitecture.ToString(),
                CheckpointDirectory = _options.CheckpointDirectory,
                CheckpointEveryNEpochs = _options.CheckpointEveryNEpochs,
                MaxTrainingTime = _options.MaxTrainingTime,
                Validate = validation is null ? null : net => Validate(net, validation, device),
                ValidationEveryNEpochs = _options.ValidationEveryNEpochs,
                KeepBestWeights = _options.KeepBestWeights,
                EarlyStoppingPatience = _options.EarlyStoppingPatience,
                PixelLossWeight = _options.PixelLossWeight,
                Perceptual = perceptual is null ? null : new PerceptualLossSettings(perceptual, _options.PerceptualLossWeight!.Value),
                Adversarial = discriminator is null
                    ? null
                    : new AdversarialSettings(discriminator, _options.AdversarialLossWeight!.Value, _options.DiscriminatorLearningRate ?? _options.LearningRate),
            };
            var monitor = new ChannelMonitor(_host, channel, progress, _options.ProgressCallback, _options.Epochs, _options.BatchSize, _options.CancellationToken);
            var summary = SrTrainer.Train(network, data, settings, monitor);
            summary.SkippedTrainingRows = trainingRows.Skipped.Count;
            summary.SkippedValidationRows = validationRows.Skipped.Count;
            var upscaler = new SrUpscaler(_options.ResolvedArchitecture, _options.ResolvedScale, _options.Channels, network, device, _options.Inference);
            summary.BicubicComparison = CompareWithBicubic(upscaler, channel);
            return new SuperResolutionTransformer(_env, _options.OutputColumnName, _options.InputColumnName, upscaler, networkOptions, _options.Device, deviceName, summary);
        }
        finally
        {
            discriminator?.Dispose();
            perceptual?.Dispose();
            foreach (var pair in data)
                pair.Dispose();
        }
    }

    /// <summary>Checks the input and label image columns and adds the output image column.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => ImageColumns.WithImageOutput(_host, inputSchema, _options.OutputColumnName,
            (_options.InputColumnName, "input"), (_options.LabelColumnName, "label"));

    /// <summary>
    /// The trained network against bicubic on the built-in check patches, its warning logged when it is below bicubic (a
    /// model that training left worse than interpolation must not pass unnoticed). Null, with a warning, when the check
    /// itself fails: it never costs the trained model.
    /// </summary>
    private static SrBicubicComparison? CompareWithBicubic(SrUpscaler upscaler, IChannel channel)
    {
        try
        {
            var comparison = SrBicubicComparison.Measure(upscaler);
            if (comparison.WarningAfterTraining is { } warning)
                channel.Warning(char.ToUpperInvariant(warning[0]) + warning[1..]);
            else
                channel.Info($"Check patches: {comparison}.");
            return comparison;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.Runtime.InteropServices.ExternalException)
        {
            channel.Warning($"The comparison with bicubic on the check patches failed: {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// Training images smaller than the patch on either side are bad rows when others are large enough (failing with
    /// what to do, or left out, warned about and counted in <see cref="SrTrainingSummary.SkippedTrainingRows"/>): one
    /// tiny image must not shrink every patch of the run. When every image is smaller, the patch is reduced to the
    /// smallest, with a warning that says so.
    /// </summary>
    private void LeaveOutImagesSmallerThanThePatch(List<TrainingPair> data, List<long> rowIndices, BadRows badRows, IChannel channel)
    {
        int scale = _options.ResolvedScale, lowPatch = Math.Max(1, _options.PatchSize / scale);
        static long Side(TrainingPair p) => Math.Min(p.LowRes.shape[1], p.LowRes.shape[2]);
        int small = data.Count(p => Side(p) < lowPatch);
        if (small == 0 || data.Count == 0)
            return;
        if (small == data.Count)
        {
            long smallest = data.Min(Side);
            if (smallest < 2)
            {
                foreach (var pair in data)
                    pair.Dispose();
                throw new InvalidDataException(
                    $"Every training image is smaller than the {lowPatch * scale}-pixel HR patch (PatchSize), the smallest down to " +
                    $"{smallest} low-resolution pixel{(smallest == 1 ? "" : "s")} across at x{scale}: nothing to learn from. Train on images of at least " +
                    $"{lowPatch * scale} pixels on each side (or set PatchSize, sr train: --patch, to what they allow).");
            }

            channel.Warning($"Every training image is smaller than the {lowPatch * scale}-pixel HR patch (PatchSize), so the patches are reduced to " +
                            $"{smallest * scale} HR pixels, the smallest image's side; train on larger images or set PatchSize (sr train: --patch) to choose.");
            return;
        }

        try
        {
            for (int i = data.Count - 1; i >= 0; i--)
            {
                if (Side(data[i]) >= lowPatch)
                    continue;
                var pair = data[i];
                long row = rowIndices[i];
                string message = $"Row {row} of the training data: {pair.HighRes.shape[2]}x{pair.HighRes.shape[1]} pixels, smaller than the " +
                                 $"{lowPatch * scale}-pixel training patch (PatchSize; sr train: --patch)";
                data.RemoveAt(i);
                rowIndices.RemoveAt(i);
                pair.Dispose();
                badRows.Report(row, string.Empty, BadRowError.Create(message));
            }
        }
        catch
        {
            foreach (var pair in data)
                pair.Dispose();
            throw;
        }
    }

    /// <summary>Mean protocol PSNR (Y, scale pixels shaved) of the network's output over the validation pairs.</summary>
    private double Validate(SrNetwork network, List<(RgbImage Low, RgbImage High)> validation, torch.Device device)
    {
        using var upscaler = new SrUpscaler(_options.ResolvedArchitecture, _options.ResolvedScale, _options.Channels, network, device, ownsNetwork: false);
        return validation.Count == 0 ? double.NaN : validation.Average(pair => ImageQuality.PsnrY(upscaler.Upscale(pair.Low), pair.High, _options.ResolvedScale));
    }

    private static string Skipped(BadRows rows) => rows.Skipped.Count == 0 ? string.Empty : $" ({rows.Skipped.Count} bad rows skipped)";

    /// <summary>
    /// Reads every LR/HR pair out of the data view (HR cropped to a multiple of the scale, sizes checked) and converts it
    /// with <paramref name="make"/>; a row that cannot be read, has no image or whose sizes do not match the scale goes
    /// to <paramref name="badRows"/> (fail or skip).
    /// </summary>
    private List<T> ReadPairs<T>(IDataView input, DataViewSchema.Column lowColumn, DataViewSchema.Column highColumn, Func<RgbImage, RgbImage, T> make,
        BadRows badRows, List<long>? rowIndices = null)
    {
        var pairs = new List<T>();
        int scale = _options.ResolvedScale;
        using var cursor = ImageColumns.OpenCursor(input, lowColumn, highColumn);
        var readLow = ImageColumns.MakeReader(cursor, lowColumn);
        var readHigh = ImageColumns.MakeReader(cursor, highColumn);
        try
        {
            while (cursor.MoveNext())
            {
                _host.CheckAlive();
                T pair;
                try
                {
                    pair = ReadPair(cursor);
                }
                catch (Exception e) when (BadRows.IsAboutTheRow(e))
                {
                    badRows.Report(cursor.Position, ImageColumns.DescribeRow(cursor), e);
                    continue;
                }

                pairs.Add(pair);
                rowIndices?.Add(cursor.Position);
            }

            badRows.CheckSomethingLeft(pairs.Count);
        }
        catch
        {
            foreach (var pair in pairs.OfType<IDisposable>())
                pair.Dispose();
            throw;
        }

        return pairs;

        T ReadPair(DataViewRow row)
        {
            var low = readLow();
            var high = low is null ? null : readHigh();
            if (low is null || high is null)
                throw BadRowError.Create($"Row {row.Position}{ImageColumns.DescribeRow(row)} has no image in column '{(low is null ? lowColumn.Name : highColumn.Name)}'.");
            var cropped = high.CropToMultipleOf(scale);
            if (low.Width * scale != cropped.Width || low.Height * scale != cropped.Height)
                throw BadRowError.Create(
                    $"Row {row.Position}{ImageColumns.DescribeRow(row)}: the low-resolution image in '{lowColumn.Name}' is {low.Width}x{low.Height} " +
                    $"and the high-resolution image in '{highColumn.Name}' is {high.Width}x{high.Height} ({cropped.Width}x{cropped.Height} cropped to a " +
                    $"multiple of {scale}); at scale {scale} it must be {low.Width * scale}x{low.Height * scale}. Check Scale, and make '{lowColumn.Name}' " +
                    $"from '{highColumn.Name}' with DownscaleImages(scale: {scale}).");
            return make(low, cropped);
        }
    }

    private torch.Tensor ToChannels(RgbImage image)
    {
        using var scope = torch.NewDisposeScope();
        var rgb = ImageTensors.ToTensor(image);
        var result = _options.Channels == SrChannels.Rgb ? rgb : ColorSpace.RgbToYCbCr(rgb, fullRange: _options.Channels == SrChannels.Gray).narrow(1, 0, 1);
        return result[0].contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Reports training through an ML.NET channel and progress channel; cancellation through the host.</summary>
    /// <summary>
    /// Passes the trainer's reports on: log lines to the ML.NET channel, the figures to ML.NET's progress channel
    /// (step and epoch; loss, validation PSNR, patches/s, seconds left) and to <see cref="SuperResolutionOptions.ProgressCallback"/>.
    /// </summary>
    private sealed class ChannelMonitor : ITrainingMonitor
    {
        private readonly IHost _host;
        private readonly IChannel _channel;
        private readonly Action<SrTrainingProgress>? _callback;
        private readonly int _epochs;
        private readonly int _batchSize;
        private readonly CancellationToken _cancellation;
        private readonly System.Diagnostics.Stopwatch _clock = new();
        private int _firstStep = -1;
        private SrTrainingProgress _last;

        public ChannelMonitor(IHost host, IChannel channel, IProgressChannel progress, Action<SrTrainingProgress>? callback, int epochs, int batchSize,
            CancellationToken cancellation)
        {
            _host = host;
            _channel = channel;
            _callback = callback;
            _epochs = epochs;
            _batchSize = batchSize;
            _cancellation = cancellation;
            _last = new SrTrainingProgress(0, epochs, 0, 0, double.NaN, double.NaN, 0, TimeSpan.Zero);
            progress.SetHeader(new ProgressHeader(new[] { "Loss", "PSNR", "patches/s", "seconds left" }, new[] { "step", "epoch" }), entry =>
            {
                var last = _last;
                entry.SetProgress(0, last.Step, last.TotalSteps);
                entry.SetProgress(1, last.Epoch, last.Epochs);
                entry.SetMetric(0, last.Loss);
                entry.SetMetric(1, last.ValidationPsnr);
                entry.SetMetric(2, last.PatchesPerSecond);
                entry.SetMetric(3, last.Remaining.TotalSeconds);
            });
        }

        public void CheckAlive()
        {
            _cancellation.ThrowIfCancellationRequested();
            _host.CheckAlive();
        }

        public void Info(string message) => _channel.Info(message);

        public void Warning(string message) => _channel.Warning(message);

        public void Progress(int epoch, int step, int totalSteps, double loss)
        {
            if (_firstStep < 0)
            {
                _firstStep = step - 1;
                _clock.Start();
            }

            int done = step - _firstStep;
            double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
            var remaining = TimeSpan.FromSeconds(seconds / done * Math.Max(0, totalSteps - step));
            _last = new SrTrainingProgress(epoch, _epochs, step, totalSteps, loss, _last.ValidationPsnr, _batchSize * done / seconds, remaining);
            _callback?.Invoke(_last);
        }

        public void Validated(int epoch, double psnr) => _last = _last with { ValidationPsnr = psnr };
    }
}
