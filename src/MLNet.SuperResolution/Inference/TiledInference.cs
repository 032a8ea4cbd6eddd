using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Runs a super-resolution forward pass tile by tile (EDSR-PyTorch's <c>forward_chop</c>, kept outside the
/// networks likewise). The LR image is cut into a grid of cores of <c>tileSize</c> pixels (the last row and column
/// smaller when the size does not divide the image); each core runs with <c>overlap</c> pixels of context on every
/// side inside the image, and only the core's part of the output is kept (centre-crop blending). With overlap at
/// least the receptive-field radius every kept pixel saw exactly what it sees in the whole image, so the result
/// equals whole-image inference up to float rounding; there is nothing to blend and no seam.
/// </summary>
internal static class TiledInference
{
    /// <summary>The tile grid along one axis: (core start, core length, context start, context length).</summary>
    public static IEnumerable<(int Start, int Length, int ContextStart, int ContextLength)> Tiles(int length, int tileSize, int overlap)
    {
        for (int start = 0; start < length; start += tileSize)
        {
            int core = Math.Min(tileSize, length - start);
            int from = Math.Max(0, start - overlap), to = Math.Min(length, start + core + overlap);
            yield return (start, core, from, to - from);
        }
    }

    /// <summary>
    /// The output of <paramref name="forward"/> ([N, C, h, w] to [N, C, h s, w s]) on <paramref name="input"/>,
    /// computed tile by tile into one output tensor.
    /// </summary>
    public static Tensor Forward(Func<Tensor, Tensor> forward, Tensor input, int scale, int tileSize, int overlap)
    {
        var output = empty(new[] { input.shape[0], input.shape[1], input.shape[2] * scale, input.shape[3] * scale },
            dtype: input.dtype, device: input.device);
        ForEachCore(forward, input, scale, tileSize, overlap, (core, left, top) =>
            output.narrow(2, top, core.shape[2]).narrow(3, left, core.shape[3]).copy_(core));
        return output;
    }

    /// <summary>
    /// Runs <paramref name="forward"/> on each tile of <paramref name="input"/> with its context and hands
    /// <paramref name="consume"/> the tile's core output and the core's (left, top) in output pixels. Each tile's
    /// tensors, the core included, are disposed once <paramref name="consume"/> returns, before the next tile runs.
    /// </summary>
    public static void ForEachCore(Func<Tensor, Tensor> forward, Tensor input, int scale, int tileSize, int overlap, Action<Tensor, int, int> consume)
        => ForEachCore(forward, (int)input.shape[2], (int)input.shape[3],
            (left, top, width, height) => input.narrow(2, top, height).narrow(3, left, width), scale, tileSize, overlap, consume);

    /// <summary>
    /// <see cref="ForEachCore(Func{Tensor, Tensor}, Tensor, int, int, int, Action{Tensor, int, int})"/> on an input of
    /// <paramref name="height"/> x <paramref name="width"/> LR pixels that <paramref name="readTile"/> makes tile by
    /// tile, given (left, top, width, height) of the tile with its context, inside the tile's dispose scope: a large
    /// input need not be held as one float tensor.
    /// </summary>
    public static void ForEachCore(Func<Tensor, Tensor> forward, int height, int width, Func<int, int, int, int, Tensor> readTile,
        int scale, int tileSize, int overlap, Action<Tensor, int, int> consume)
    {
        var rows = Tiles(height, tileSize, overlap).ToList();
        var columns = Tiles(width, tileSize, overlap).ToList();
        int done = 0, total = rows.Count * columns.Count;
        foreach (var row in rows)
            foreach (var column in columns)
            {
                using (var scope = NewDisposeScope())
                {
                    var tile = readTile(column.ContextStart, row.ContextStart, column.ContextLength, row.ContextLength);
                    var core = forward(tile)
                        .narrow(2, (long)(row.Start - row.ContextStart) * scale, (long)row.Length * scale)
                        .narrow(3, (long)(column.Start - column.ContextStart) * scale, (long)column.Length * scale);
                    consume(core, column.Start * scale, row.Start * scale);
                }

                // The tile's activations are freed; without this glibc keeps much of them (see NativeHeap).
                NativeHeap.Release();
                TileProgress.Tile(++done, total);
            }
    }
}
