namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// A limit on the convolution weights a network may allocate while it is built on this thread: model detection
/// builds the network a file's shapes describe before it compares keys and shapes, and a crafted file (a 7.6 MB
/// Compact whose one small tensor stands for a 4096 x 4096 x 3 x 3 convolution) would otherwise make it allocate a
/// hundred times the file. The convolution factories (<see cref="ChannelPaddedConv2d"/>,
/// <see cref="ChannelPaddedConvTranspose2d"/>, and the plain layers they choose) take from the budget before they
/// allocate; outside <see cref="Limit"/> nothing is counted.
/// </summary>
internal static class ConstructionBudget
{
    [ThreadStatic]
    private static long _left;

    [ThreadStatic]
    private static bool _active;

    /// <summary>Limits this thread's convolution weights (elements, biases included) until the result is disposed.</summary>
    public static IDisposable Limit(long elements)
    {
        if (_active)
            throw new InvalidOperationException("A construction budget is already in force on this thread.");
        (_left, _active) = (elements, true);
        return new Scope();
    }

    /// <summary>Counts a layer of <paramref name="elements"/> weights; throws <see cref="InvalidDataException"/> past the limit.</summary>
    public static void Take(long elements)
    {
        if (!_active)
            return;
        _left -= elements;
        if (_left < 0)
            throw new InvalidDataException(
                "the network its shapes describe needs more weights than the file holds (more than the limit by " +
                $"{-_left:N0} values at a layer of {elements:N0}): not that network's weights");
    }

    /// <summary>The weights of a convolution: in x out x kernel area (/ groups), plus the bias.</summary>
    public static long ConvolutionElements(long inChannels, long outChannels, long kernelArea, bool hasBias, long groups = 1)
        => inChannels / Math.Max(groups, 1) * outChannels * kernelArea + (hasBias ? outChannels : 0);

    private sealed class Scope : IDisposable
    {
        public void Dispose() => (_left, _active) = (0, false);
    }
}
