using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Runs a super-resolution model on one 8-bit image: RGB networks see RGB; Y networks see the BT.601 Y channel and
/// their output is combined with the bicubic-upscaled Cb and Cr of the input (the protocol's step 5). Bicubic is
/// MATLAB's 8-bit <c>imresize</c> itself. Alpha, when present, is upscaled with bicubic. No ML.NET types here.
/// The network's forward pass alone is tiled and/or self-ensembled (<see cref="SrInferenceOptions"/>); the bicubic
/// Cb/Cr of Y networks is computed on the whole image.
/// </summary>
internal sealed class SrUpscaler : IDisposable
{
    public SrUpscaler(SrArchitecture architecture, int scale, SrChannels channels, SrNetwork? network, Device device,
        SrInferenceOptions? inference = null)
    {
        Inference = inference?.Clone() ?? new SrInferenceOptions();
        Inference.Validate(nameof(inference));
        if (architecture != SrArchitecture.Bicubic && network is null)
            throw new ArgumentNullException(nameof(network), $"{architecture} needs a network.");
        Architecture = architecture;
        Scale = scale;
        Channels = channels;
        Network = network;
        Device = device;
        Network?.to(device).eval();
    }

    public SrArchitecture Architecture { get; }

    public int Scale { get; }

    public SrChannels Channels { get; }

    /// <summary>The network; null for <see cref="SrArchitecture.Bicubic"/>.</summary>
    public SrNetwork? Network { get; }

    public Device Device { get; }

    /// <summary>Tiling and self-ensemble (this upscaler's own copy).</summary>
    public SrInferenceOptions Inference { get; }

    /// <summary>Upscales an image by <see cref="Scale"/>; thread-safe (inference only, no shared mutable state).</summary>
    public RgbImage Upscale(RgbImage lowRes)
    {
        if (Network is null)
            return MatlabImresize.Upscale(lowRes, Scale);

        byte[]? alpha = lowRes.Alpha is null ? null : UpscaleAlpha(lowRes);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = ImageTensors.ToTensor(lowRes, Device);
        Tensor rgb;
        if (Channels == SrChannels.Y)
        {
            var ycbcr = ColorSpace.RgbToYCbCr(input);
            var y = Forward(ycbcr.narrow(1, 0, 1));
            var cbcr = TorchBicubic.Upscale(ycbcr.narrow(1, 1, 2), Scale);
            rgb = ColorSpace.YCbCrToRgb(cat(new[] { y, cbcr }, 1));
        }
        else
        {
            rgb = Forward(input);
        }

        return ImageTensors.ToImage(rgb, alpha);
    }

    /// <summary>
    /// The network's output for an LR batch in its own channels (RGB or Y), tiled when <see cref="TilePlan"/> says
    /// so and self-ensembled per tile when asked: the single place the network runs at inference.
    /// </summary>
    internal Tensor Forward(Tensor lowRes)
    {
        var network = Network ?? throw new InvalidOperationException("Bicubic has no network forward pass.");
        Func<Tensor, Tensor> forward = Inference.SelfEnsemble ? x => SelfEnsemble.Forward(network.forward, x) : network.forward;
        return TilePlan((int)lowRes.shape[2], (int)lowRes.shape[3]) is { } plan
            ? TiledInference.Forward(forward, lowRes, Scale, plan.TileSize, plan.Overlap)
            : forward(lowRes);
    }

    /// <summary>
    /// How an LR image of this size is tiled: null for one whole-image pass (no network, or automatic tiling and the
    /// image within <see cref="SrInferenceOptions.MaxUntiledPixels"/>). The overlap defaults to the network's
    /// receptive field (<see cref="ReceptiveField"/>); the automatic tile keeps a tile with its context within the
    /// pixel budget: sqrt(budget) - 2 overlap, at least <see cref="SrInferenceOptions.MinTileSize"/>.
    /// </summary>
    internal (int TileSize, int Overlap)? TilePlan(int height, int width)
    {
        if (Network is null)
            return null;
        bool automatic = Inference.TileSize is null or 0;
        if (automatic && (long)height * width <= Inference.MaxUntiledPixels)
            return null;
        int overlap = Inference.TileOverlap ?? ReceptiveField.Of(Network, Device).DefaultOverlap;
        int tile = automatic
            ? Math.Max(SrInferenceOptions.MinTileSize, (int)Math.Sqrt(Inference.MaxUntiledPixels) - 2 * overlap)
            : Inference.TileSize!.Value;
        return (tile, overlap);
    }

    private byte[] UpscaleAlpha(RgbImage image)
    {
        var alpha = image.Alpha!;
        var planes = new byte[3 * alpha.Length];
        for (int c = 0; c < 3; c++)
            alpha.CopyTo(planes, c * alpha.Length);
        var upscaled = MatlabImresize.Upscale(new RgbImage(image.Width, image.Height, planes), Scale);
        return upscaled.Planes.AsSpan(0, upscaled.PlaneSize).ToArray();
    }

    public void Dispose() => Network?.Dispose();
}
