namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Where tiled inference reports each finished tile: a sink set for the calling thread for the length of one upscale
/// (<see cref="Report"/>), so that two upscalers sharing one network never hear each other's tiles.
/// </summary>
internal static class TileProgress
{
    [ThreadStatic]
    private static Action<int, int>? t_sink;

    /// <summary>Sends this thread's tiles to <paramref name="sink"/> (tiles done, tile count) until the result is disposed.</summary>
    public static IDisposable Report(Action<int, int>? sink)
    {
        var previous = t_sink;
        t_sink = sink;
        return new Restore(previous);
    }

    /// <summary>Called after each tile: <paramref name="done"/> of <paramref name="total"/>.</summary>
    public static void Tile(int done, int total) => t_sink?.Invoke(done, total);

    private sealed class Restore(Action<int, int>? previous) : IDisposable
    {
        public void Dispose() => t_sink = previous;
    }
}
