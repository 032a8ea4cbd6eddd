using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Runs a super-resolution model on one 8-bit image: RGB networks see RGB; Y networks see the BT.601 Y channel and
/// their output is combined with the bicubic-upscaled Cb and Cr of the input (the protocol's step 5). Bicubic is
/// MATLAB's 8-bit <c>imresize</c> itself. Alpha, when present, is upscaled with bicubic. No ML.NET types here.
/// </summary>
internal sealed class SrUpscaler : IDisposable
{
    public SrUpscaler(SrArchitecture architecture, int scale, SrChannels channels, SrNetwork? network, Device device)
    {
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
            var y = Network.forward(ycbcr.narrow(1, 0, 1));
            var cbcr = TorchBicubic.Upscale(ycbcr.narrow(1, 1, 2), Scale);
            rgb = ColorSpace.YCbCrToRgb(cat(new[] { y, cbcr }, 1));
        }
        else
        {
            rgb = Network.forward(input);
        }

        return ImageTensors.ToImage(rgb, alpha);
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
