namespace MLNet.SuperResolution;

/// <summary>Image file formats the upscaler writes.</summary>
public enum SrImageFormat
{
    /// <summary>PNG, 8 bits per channel (grayscale, RGB, with or without alpha, as the input).</summary>
    Png = 0,

    /// <summary>JPEG at the upscaler's quality; alpha is dropped (JPEG has none).</summary>
    Jpeg = 1,

    /// <summary>WebP, lossless.</summary>
    Webp = 2,

    /// <summary>BMP, 24-bit (32-bit with alpha).</summary>
    Bmp = 3,
}
