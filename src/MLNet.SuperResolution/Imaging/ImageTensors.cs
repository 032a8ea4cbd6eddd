using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>The one place where images become tensors and tensors become images.</summary>
internal static class ImageTensors
{
    /// <summary>An 8-bit image as a float32 [1, 3, H, W] tensor with values in [0, 1] (byte / 255).</summary>
    public static Tensor ToTensor(RgbImage image, Device? device = null)
    {
        var values = new float[image.Planes.Length];
        for (int i = 0; i < values.Length; i++)
            values[i] = image.Planes[i] / 255f;
        var cpu = tensor(values, new long[] { 1, 3, image.Height, image.Width });
        return device is null || device.type == DeviceType.CPU ? cpu : cpu.to(device);
    }

    /// <summary>
    /// A [1, 3, H, W] (or [3, H, W]) tensor in [0, 1] as an 8-bit image: clamped, times 255, rounded half away
    /// from zero (as MATLAB's uint8 conversion), the way a user would save the result.
    /// </summary>
    public static RgbImage ToImage(Tensor rgb, byte[]? alpha = null)
    {
        using var scope = NewDisposeScope();
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        if (t.shape[0] != 3)
            throw new ArgumentException($"Expected a 3-channel tensor, got shape [{string.Join(", ", rgb.shape)}].", nameof(rgb));
        int height = (int)t.shape[1], width = (int)t.shape[2];
        // Rounding: values are >= 0 after clamping, so floor(x + 0.5) is round-half-away-from-zero.
        var bytes = t.detach().to(ScalarType.Float32).cpu().clamp(0, 1).mul(255).add(0.5).floor().to(ScalarType.Byte).contiguous();
        var planes = bytes.data<byte>().ToArray();
        return new RgbImage(width, height, planes, alpha);
    }
}
