using System.Globalization;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Metrics;

namespace MLNet.SuperResolution;

/// <summary>
/// A model against bicubic interpolation on the library's built-in check patches (four 96x96 photographs: a face, a
/// cat's eye, a coffee cup and a brick wall, embedded in the library), by the protocol (low-resolution input made with MATLAB's
/// bicubic, PSNR on Y with <c>scale</c> pixels shaved, averaged over the patches). A super-resolution model that scores
/// below bicubic there is almost always broken: weights for another scale or channel mode, weights of another network,
/// or too little training. <see cref="SuperResolutionTransformer.CompareWithBicubic"/> makes one; training sets
/// <see cref="SrTrainingSummary.BicubicComparison"/> and logs <see cref="Warning"/> when there is one.
/// </summary>
/// <param name="ModelPsnr">The model's mean PSNR in dB.</param>
/// <param name="BicubicPsnr">Bicubic interpolation's mean PSNR in dB at the same scale.</param>
/// <param name="Scale">The upscaling factor compared at.</param>
public sealed record SrBicubicComparison(double ModelPsnr, double BicubicPsnr, int Scale)
{
    /// <summary>How far below bicubic (in dB) a model counts as broken rather than merely weak: <see cref="IsFarBelowBicubic"/>.</summary>
    public const double FarBelowDecibels = 3.0;

    /// <summary>The model's PSNR minus bicubic's, in dB (positive: the model is better).</summary>
    public double Margin => ModelPsnr - BicubicPsnr;

    /// <summary>
    /// Whether the comparison means anything: at x1 bicubic is the identity (the input itself), which no restoration
    /// model beats on clean input.
    /// </summary>
    public bool IsMeaningful => Scale > 1 && double.IsFinite(BicubicPsnr);

    /// <summary>Whether the model scores below bicubic (a PSNR-trained super-resolution model should not).</summary>
    public bool IsBelowBicubic => IsMeaningful && !(Margin >= 0);

    /// <summary>
    /// Whether the model scores <see cref="FarBelowDecibels"/> or more below bicubic: a model for another scale or
    /// channel mode, another network's weights, or a network that has hardly trained (perceptually trained GAN models
    /// can be a little below bicubic, not this far).
    /// </summary>
    public bool IsFarBelowBicubic => IsMeaningful && !(Margin > -FarBelowDecibels);

    /// <summary>What is wrong and what to do, when the model is below bicubic; null when it is not.</summary>
    public string? Warning => !IsBelowBicubic ? null : IsFarBelowBicubic
        ? $"the model scores {Db(-Margin)} dB BELOW bicubic on the built-in check patches (model {Db(ModelPsnr)} dB, bicubic {Db(BicubicPsnr)} dB, x{Scale}): " +
          "its output is worse than plain interpolation. Likely causes: weights made for another scale or channel mode (Rgb/Y), " +
          "weights of another network or preset, or too little training (more epochs or patches, or another learning rate)."
        : $"the model scores {Db(-Margin)} dB below bicubic on the built-in check patches (model {Db(ModelPsnr)} dB, bicubic {Db(BicubicPsnr)} dB, x{Scale}): " +
          "not yet better than interpolation; train longer (more epochs or patches) unless it is trained for perceptual quality (GAN).";

    /// <summary>What is wrong and what to do after training, when the trained model is below bicubic; null when it is not.</summary>
    internal string? WarningAfterTraining => !IsBelowBicubic ? null
        : $"after training, the model scores {Db(-Margin)} dB {(IsFarBelowBicubic ? "BELOW" : "below")} bicubic on the built-in check patches " +
          $"(model {Db(ModelPsnr)} dB, bicubic {Db(BicubicPsnr)} dB, x{Scale}): {(IsFarBelowBicubic ? "it is worse than plain interpolation. " : "")}" +
          "Likely causes: too little training (more epochs or patches per image), a learning rate too high or too low, or training " +
          "images unlike the ones it is meant for. Unless it is trained for perceptual quality (GAN), do not use it as it is.";

    /// <summary>"+2.31 dB over bicubic (34.10 against 31.79 dB, x2)": the comparison in words.</summary>
    public override string ToString() => !IsMeaningful
        ? $"model {Db(ModelPsnr)} dB (x{Scale}; bicubic is the identity at x1)"
        : $"{(Margin >= 0 ? "+" : "-")}{Db(Math.Abs(Margin))} dB {(Margin >= 0 ? "over" : "under")} bicubic ({Db(ModelPsnr)} against {Db(BicubicPsnr)} dB, x{Scale})";

    private static string Db(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static readonly string[] PatchNames = ["astronaut", "chelsea", "coffee", "brick"];
    private static readonly Lazy<RgbImage[]> Patches = new(LoadPatches);

    /// <summary>The built-in check patches (96x96 RGB; sources in Evaluation/CheckPatches/README.md).</summary>
    internal static IReadOnlyList<RgbImage> CheckPatches => Patches.Value;

    private static RgbImage[] LoadPatches()
    {
        var assembly = typeof(SrBicubicComparison).Assembly;
        return PatchNames.Select(name =>
        {
            string resource = $"MLNet.SuperResolution.CheckPatches.{name}.png";
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"The embedded resource {resource} is missing from {assembly.GetName().Name}.");
            return ImageFiles.Read(stream, resource).Image;
        }).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="upscaler"/> and bicubic on the check patches, each downscaled by the scale with MATLAB's
    /// bicubic (the patches are cropped to a multiple of the scale first).
    /// </summary>
    internal static SrBicubicComparison Measure(SrUpscaler upscaler)
    {
        int scale = upscaler.Scale;
        double model = 0, bicubic = 0;
        foreach (var patch in CheckPatches)
        {
            var high = patch.CropToMultipleOf(scale);
            var low = scale == 1 ? high : MatlabImresize.Downscale(high, scale);
            model += ImageQuality.PsnrY(upscaler.Upscale(low), high, scale);
            bicubic += scale == 1 ? double.PositiveInfinity : ImageQuality.PsnrY(MatlabImresize.Upscale(low, scale), high, scale);
        }

        return new SrBicubicComparison(model / CheckPatches.Count, bicubic / CheckPatches.Count, scale);
    }
}
