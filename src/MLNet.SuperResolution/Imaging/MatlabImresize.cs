namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB's <c>imresize(x, scale, 'bicubic')</c>, exactly as ../shared/docs/protocol.md spells it out.
/// STUB: to be implemented (Imaging helper).
/// </summary>
internal static class MatlabImresize
{
    /// <summary>
    /// Resizes each channel (and alpha) of an 8-bit image by <paramref name="scale"/> (e.g. 0.5 or 1/3 to shrink,
    /// 2 to enlarge); output size ceil(in * scale); rounded to 0..255 after EACH of the two passes (MATLAB's uint8
    /// behaviour); rows (height) first, then columns.
    /// </summary>
    public static RgbImage Resize(RgbImage image, double scale) => throw new NotImplementedException();

    /// <summary>
    /// The resize along one dimension as a dense matrix M of shape [ceil(inLength * scale), inLength], so that
    /// out = M @ in (weights normalised, mirrored borders folded in). Used by <see cref="TorchBicubic"/>.
    /// </summary>
    public static double[,] WeightMatrix(int inLength, double scale) => throw new NotImplementedException();
}
