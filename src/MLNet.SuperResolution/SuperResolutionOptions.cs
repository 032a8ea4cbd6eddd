namespace MLNet.SuperResolution;

/// <summary>
/// Options of <c>mlContext.Transforms.SuperResolution(...)</c>: which network to train, on which columns, and how.
/// The defaults train the paper configuration of the chosen network with Adam on random patches.
/// </summary>
public sealed class SuperResolutionOptions
{
    /// <summary>
    /// The network to train. Null (default): the network of <see cref="InitialWeightsPath"/> when that file is a
    /// community model whose network is detected from its keys (fine-tuning it; its hyper-parameters and channels
    /// come from the file too), otherwise <see cref="SrArchitecture.Espcn"/>.
    /// </summary>
    public SrArchitecture? Architecture { get; set; }

    /// <summary>
    /// The configuration of the network: <see cref="SrPreset.Paper"/> (default) or the founding notes' small
    /// <see cref="SrPreset.Notes"/>. Ignored when <see cref="NetworkOptions"/> is set.
    /// </summary>
    public SrPreset Preset { get; set; } = SrPreset.Paper;

    /// <summary>
    /// Custom hyper-parameters: the architecture's own options record (e.g. <c>EdsrOptions.Paper with { NumBlock = 8 }</c>).
    /// Null (default) means the <see cref="Preset"/>.
    /// </summary>
    public SrNetworkOptions? NetworkOptions { get; set; }

    /// <summary>
    /// The upscaling factor: 2, 3 or 4 (the architectures' supported scales; 8 for LapSrn and Drn; 1 for the
    /// restoration networks). Null (default): the scale of a detected <see cref="InitialWeightsPath"/>, otherwise 2.
    /// </summary>
    public int? Scale { get; set; }

    /// <summary>RGB (3-channel network) or the BT.601 Y channel (1-channel network). Default <see cref="SrChannels.Rgb"/>.</summary>
    public SrChannels Channels { get; set; } = SrChannels.Rgb;

    /// <summary>The low-resolution image column (an image column, e.g. from <c>DownscaleImages</c>). Default "LowRes".</summary>
    public string InputColumnName { get; set; } = "LowRes";

    /// <summary>The high-resolution ground-truth image column; cropped to a multiple of <see cref="Scale"/> (top-left). Default "HighRes".</summary>
    public string LabelColumnName { get; set; } = "HighRes";

    /// <summary>The output column holding the upscaled images (<c>MLImage</c>). Default "SuperRes".</summary>
    public string OutputColumnName { get; set; } = "SuperRes";

    /// <summary>
    /// Number of epochs. An epoch is not a pass over every pixel: it is ceil(images x <see cref="PatchesPerImage"/> /
    /// <see cref="BatchSize"/>) optimisation steps, each on <see cref="BatchSize"/> patches drawn uniformly at random
    /// (image, position, flip/rotation) with replacement. Epochs are the unit of validation, checkpoints and epoch-based
    /// learning-rate milestones. Default 10.
    /// </summary>
    public int Epochs { get; set; } = 10;

    /// <summary>
    /// Random patches per image per epoch, on average (patches are drawn with replacement, so an image may get more or
    /// fewer); with <see cref="BatchSize"/> it fixes the steps per epoch. Default 16.
    /// </summary>
    public int PatchesPerImage { get; set; } = 16;

    /// <summary>Patches per optimisation step. Default 16.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>
    /// Side of a training patch in high-resolution pixels (rounded down to a multiple of <see cref="Scale"/>; reduced
    /// to the smallest training image when that is smaller). Default 48.
    /// </summary>
    public int PatchSize { get; set; } = 48;

    /// <summary>
    /// Adam's learning rate. Default 1e-3. Where a network's reference recipe trains some layers at another rate, those
    /// layers get that multiple of it (FSRCNN: its tail at a tenth).
    /// </summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>
    /// How the learning rate changes over training. Default <see cref="SrLearningRateSchedule.Cosine"/>: from
    /// <see cref="LearningRate"/> down to <see cref="CosineFloor"/> (1%) of it at the last step, which removes the end-of-training noise of a
    /// constant rate (with Adam at 1e-3, output biases otherwise wander by a few 8-bit levels).
    /// </summary>
    public SrLearningRateSchedule LearningRateSchedule { get; set; } = SrLearningRateSchedule.Cosine;

    /// <summary>The training loss. Default <see cref="SrLoss.L1"/>.</summary>
    public SrLoss Loss { get; set; } = SrLoss.L1;

    /// <summary>Log the running loss through ML.NET's log every this many steps. Default 20.</summary>
    public int LogEveryNSteps { get; set; } = 20;

    /// <summary>
    /// Called on the training thread after every optimisation step with epoch, step, loss, validation PSNR,
    /// patches/s and the time left (a progress bar, a dashboard). Keep it quick; it is not saved with the model.
    /// Null (default) = none. The same figures go to ML.NET's progress channel and <c>MLContext.Log</c>.
    /// </summary>
    public Action<SrTrainingProgress>? ProgressCallback { get; set; }

    /// <summary>
    /// Cancels training between steps (Ctrl+C in a tool, a request timeout): <c>Fit</c> throws
    /// <see cref="OperationCanceledException"/>. With <see cref="CheckpointDirectory"/>, fitting again with the same
    /// options resumes from the last checkpoint. <c>MLContext</c>'s own cancellation works as well. Not saved.
    /// </summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// Torch device: "cpu", "cuda" or "cuda:N"; null (the default) follows the <c>MLContext</c> as ML.NET's TorchSharp
    /// trainers do: the CPU unless <c>MLContext.GpuDeviceId</c> is set, then that CUDA device, or the CPU when there is
    /// no CUDA and <c>MLContext.FallbackToCpu</c> is true (an error when it is false). A model saved with null follows
    /// the loading context. CUDA needs a CUDA libtorch backend package in the application (e.g.
    /// libtorch-cuda-12.8-linux-x64) instead of libtorch-cpu-linux-x64.
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// Optional PyTorch state_dict (.pth, .safetensors) to start from instead of random initialisation (fine-tuning).
    /// Keys and shapes must match the network; a community model's file in another key layout of the network (the
    /// original ESRGAN's, say) is mapped as detection maps it. With <see cref="Architecture"/> null, the network is the
    /// file's, detected (<see cref="SrModelFile.Inspect"/>).
    /// </summary>
    public string? InitialWeightsPath { get; set; }

    /// <summary>
    /// With <see cref="InitialWeightsPath"/>: copy only the tensors whose name and shape match the network and keep
    /// the rest as initialised, instead of refusing any mismatch. EDSR's recipe for x3 and x4: start from the x2
    /// model (<see cref="SuperResolutionTransformer.SaveWeights(string)"/>), whose upsampler differs. The keys left
    /// out are logged. Default false.
    /// </summary>
    public bool InitialWeightsSkipMismatched { get; set; }

    // ---- Training at quality: optimiser, schedule, clipping, weight averaging ----

    /// <summary>Adam's beta1, the decay of the gradient's running mean. Default 0.9 (EDSR and most SR papers).</summary>
    public double AdamBeta1 { get; set; } = 0.9;

    /// <summary>Adam's beta2, the decay of the squared gradient's running mean. Default 0.999.</summary>
    public double AdamBeta2 { get; set; } = 0.999;

    /// <summary>
    /// <see cref="SrLearningRateSchedule.Cosine"/>: the last step's learning rate as a fraction of
    /// <see cref="LearningRate"/>, in [0, 1]. Default 0.01.
    /// </summary>
    public double CosineFloor { get; set; } = 0.01;

    /// <summary>
    /// <see cref="SrLearningRateSchedule.Step"/>: the learning rate is multiplied by <see cref="Gamma"/> every this many
    /// epochs (EDSR: 200 epochs of 1000 steps, gamma 0.5). Default 200.
    /// </summary>
    public int StepSize { get; set; } = 200;

    /// <summary>
    /// <see cref="SrLearningRateSchedule.MultiStep"/>: the epochs after which the learning rate is multiplied by
    /// <see cref="Gamma"/>, strictly increasing and positive (e.g. { 100, 150 }). Required by MultiStep; ignored otherwise.
    /// </summary>
    public int[]? Milestones { get; set; }

    /// <summary>Step and MultiStep schedules: the decay factor, in (0, 1]. Default 0.5.</summary>
    public double Gamma { get; set; } = 0.5;

    /// <summary>
    /// Optimisation steps (not epochs) over which the learning rate ramps up linearly from LearningRate / WarmupSteps
    /// to the schedule's value; applies to every schedule. Default 0 (no warm-up).
    /// </summary>
    public int WarmupSteps { get; set; }

    /// <summary>
    /// Clips the gradients so that their global L2 norm (over all parameters) is at most this value before each step.
    /// Null (default) = no clipping. Deep plain networks with high learning rates need it (VDSR: 0.4 / learning rate
    /// in its paper; with Adam, values around 0.1-1 are typical).
    /// </summary>
    public double? GradientClipNorm { get; set; }

    /// <summary>
    /// Keeps an exponential moving average of the weights, <c>avg = decay * avg + (1 - decay) * weights</c> after
    /// every step, and the fitted model uses the averaged weights (validation too). Typical: 0.999. Null (default) = off.
    /// </summary>
    public double? EmaDecay { get; set; }

    // ---- Training at quality: checkpoints and resume ----

    /// <summary>
    /// A directory for a resumable checkpoint (one file, <c>training.srcheckpoint</c>, replaced atomically): weights,
    /// Adam's state, step and epoch counters, the weight average, the best weights and the loss/validation history.
    /// When the directory already holds a checkpoint, training resumes from it (same options and data; a larger
    /// <see cref="Epochs"/> continues a finished run) and ends with the same weights as an uninterrupted run. Null
    /// (default) = no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Write a checkpoint every this many epochs (and always at the end of training). Default 1.</summary>
    public int CheckpointEveryNEpochs { get; set; } = 1;

    // ---- Training at quality: validation and stopping ----

    /// <summary>
    /// Optional validation images: a data view with the same low-resolution and high-resolution image columns
    /// (<see cref="InputColumnName"/>, <see cref="LabelColumnName"/>). Evaluated every
    /// <see cref="ValidationEveryNEpochs"/> epochs with the protocol PSNR (Y channel, <see cref="Scale"/> pixels shaved),
    /// logged, and recorded in <see cref="SrTrainingSummary.Validations"/>. Null (default) = no validation.
    /// </summary>
    public Microsoft.ML.IDataView? ValidationSet { get; set; }

    /// <summary>Validate every this many epochs (and after the last one). Default 1.</summary>
    public int ValidationEveryNEpochs { get; set; } = 1;

    /// <summary>
    /// With a <see cref="ValidationSet"/>: end training with the weights of the best validation PSNR instead of the
    /// last ones. Default false.
    /// </summary>
    public bool KeepBestWeights { get; set; }

    /// <summary>
    /// With a <see cref="ValidationSet"/>: stop when the validation PSNR has not improved for this many validations in
    /// a row. Null (default) = never stop early.
    /// </summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Stop cleanly after the step during which this much wall-clock time (of this <c>Fit</c> call) has passed; the
    /// model keeps the weights reached (or the best ones, with <see cref="KeepBestWeights"/>) and a checkpoint is
    /// written when <see cref="CheckpointDirectory"/> is set. Null (default) = no limit.
    /// </summary>
    public TimeSpan? MaxTrainingTime { get; set; }

    // ---- SRGAN: adversarial training and the perceptual loss (SrResNet only) ----

    /// <summary>
    /// SRGAN (Ledig et al., CVPR 2017): trains the <see cref="SrArchitecture.SrResNet"/> generator against SRGAN's
    /// discriminator, adding this weight x the adversarial loss (binary cross-entropy of the discriminator's verdict on
    /// the output against "real") to the generator's content loss; the discriminator is trained in alternation with its
    /// own Adam on real HR patches against the generator's output. The paper's weight is 1e-3, starting from an
    /// SRResNet trained with the pixel loss (<see cref="InitialWeightsPath"/>). The discriminator sees the HR training
    /// patches, so the HR patch (<see cref="PatchSize"/> rounded down to a multiple of <see cref="Scale"/>) must be a
    /// multiple of 16 (the paper's 96); it is not saved with the model (the fitted model is the generator) but is in
    /// checkpoints. SrResNet only; null (default) = no adversarial training.
    /// </summary>
    public double? AdversarialLossWeight { get; set; }

    /// <summary>
    /// With <see cref="AdversarialLossWeight"/>: the discriminator's Adam learning rate, which follows the same
    /// schedule (and warm-up) as <see cref="LearningRate"/>, scaled. Null (default) = <see cref="LearningRate"/> (the
    /// paper uses 1e-4 for both).
    /// </summary>
    public double? DiscriminatorLearningRate { get; set; }

    /// <summary>
    /// With <see cref="AdversarialLossWeight"/>: the discriminator's first convolution's channels; its eight
    /// convolutions have width x 1, 1, 2, 2, 4, 4, 8, 8 channels and its dense layer 16 x width. Default 64, the paper's
    /// (26,000,705 parameters for 96-pixel RGB patches); small values make small discriminators for quick experiments.
    /// </summary>
    public int DiscriminatorWidth { get; set; } = 64;

    /// <summary>
    /// The weight of the pixel loss (<see cref="Loss"/>) in SrResNet's content loss, for combining it with
    /// <see cref="PerceptualLossWeight"/>: 0 leaves the perceptual loss alone (the paper's SRGAN-VGG54), 1 (default)
    /// is the plain pixel loss. Other architectures keep 1.
    /// </summary>
    public double PixelLossWeight { get; set; } = 1;

    /// <summary>
    /// Adds this weight x the VGG54 perceptual loss to SrResNet's content loss: the mean squared difference between
    /// VGG19 feature maps (after <c>relu5_4</c>, as SRGAN's VGG54; RGB inputs normalised as torchvision's VGG expects)
    /// of the output and of the ground truth. Needs <see cref="Vgg19WeightsPath"/>: no VGG weights ship with the library
    /// and nothing is downloaded. Needs <see cref="SrChannels.Rgb"/> and HR patches of at least 16 pixels. The paper
    /// scales the feature maps by 1/12.75 (a weight of about 0.006 on this mean) for Caffe's VGG on 0-255 inputs; with
    /// torchvision's weights the magnitudes differ, so check the logged terms. Null (default) = off. SrResNet only.
    /// </summary>
    public double? PerceptualLossWeight { get; set; }

    /// <summary>
    /// The VGG19 weights for <see cref="PerceptualLossWeight"/>, supplied by you: torchvision's
    /// <c>vgg19().state_dict()</c> saved by a current PyTorch (<c>torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth')</c>;
    /// the legacy-format file torchvision downloads must be re-saved so) or as safetensors. The keys
    /// <c>features.{0,2,5,...,34}.weight</c> and <c>.bias</c> of the 16 convolutions are used; <c>classifier.*</c> is
    /// ignored; vgg16 and vgg19_bn files are refused. Null (default) = none.
    /// </summary>
    public string? Vgg19WeightsPath { get; set; }

    /// <summary>
    /// What to do with a bad row of the training data or the <see cref="ValidationSet"/>: an image that cannot be read
    /// (missing, empty or non-image file), a missing image, or low- and high-resolution sizes that do not match the
    /// scale. <see cref="SrBadRowHandling.Fail"/> (default) stops with an error naming the row and its file;
    /// <see cref="SrBadRowHandling.Skip"/> leaves such rows out with a warning each and counts them in
    /// <see cref="SrTrainingSummary.SkippedTrainingRows"/> and <see cref="SrTrainingSummary.SkippedValidationRows"/>.
    /// </summary>
    public SrBadRowHandling BadRowHandling { get; set; } = SrBadRowHandling.Fail;

    /// <summary>Test hook: a step at which to poison one gradient with NaN (checks the non-finite guard).</summary>
    internal int? InjectNonFiniteGradientAtStep { get; set; }

    /// <summary>
    /// How the trained network upscales: tiling of large images and the x8 self-ensemble. Default: whole images up
    /// to 512 x 512 low-resolution pixels, larger ones in tiles that give the same result; no self-ensemble.
    /// </summary>
    public SrInferenceOptions Inference { get; set; } = new();

    /// <summary>The architecture after resolution (the estimator resolves a null one).</summary>
    internal SrArchitecture ResolvedArchitecture => Architecture ?? SrArchitecture.Espcn;

    /// <summary>The scale after resolution (the estimator resolves a null one).</summary>
    internal int ResolvedScale => Scale ?? 2;

    internal SuperResolutionOptions Clone()
    {
        var clone = (SuperResolutionOptions)MemberwiseClone();
        clone.Inference = Inference?.Clone()!;
        clone.Milestones = Milestones?.ToArray();
        return clone;
    }
}

/// <summary>Learning-rate schedules.</summary>
public enum SrLearningRateSchedule
{
    /// <summary>Cosine annealing from the learning rate to <see cref="SuperResolutionOptions.CosineFloor"/> of it over all steps.</summary>
    Cosine = 0,

    /// <summary>The same learning rate throughout.</summary>
    Constant = 1,

    /// <summary>Multiplied by <see cref="SuperResolutionOptions.Gamma"/> every <see cref="SuperResolutionOptions.StepSize"/> epochs.</summary>
    Step = 2,

    /// <summary>Multiplied by <see cref="SuperResolutionOptions.Gamma"/> after each epoch of <see cref="SuperResolutionOptions.Milestones"/>.</summary>
    MultiStep = 3,
}

/// <summary>Training losses.</summary>
public enum SrLoss
{
    /// <summary>Mean absolute error (EDSR and most modern SR networks).</summary>
    L1 = 0,

    /// <summary>Mean squared error (SRCNN, FSRCNN, ESPCN, VDSR papers).</summary>
    L2 = 1,

    /// <summary>Charbonnier, sqrt((x - y)^2 + 1e-6), a smooth L1 (LapSRN).</summary>
    Charbonnier = 2,
}
