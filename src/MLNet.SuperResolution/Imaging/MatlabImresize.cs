namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB's <c>imresize(x, scale, 'bicubic')</c>, exactly as ../shared/docs/protocol.md spells it out.
/// STUB: to be implemented (Imaging helper).
/// </summary>
internal static class MatlabImresize
{
    /// <summary>Downscale by an integer factor (dimensions must be multiples of it): imresize(x, 1/factor, 'bicubic') on uint8.</summary>
    public static RgbImage Downscale(RgbImage image, int factor) => throw new NotImplementedException();

    /// <summary>Upscale by an integer factor: imresize(x, factor, 'bicubic') on uint8.</summary>
    public static RgbImage Upscale(RgbImage image, int factor) => throw new NotImplementedException();

    /// <summary>One dimension's resize as a dense matrix [outLength, inLength].</summary>
    public static double[,] WeightMatrix(int inLength, int outLength) => throw new NotImplementedException();
}
