using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// The Cb and Cr planes (on <see cref="ColorSpace.RgbToYCbCr"/>'s scale, value / 255) of an LR region, kept beside a Y
/// network's input so that the 8-bit write can upscale them with MATLAB bicubic row by row as it converts the network's
/// Y back to RGB (<see cref="ImageTensors.WriteFromLuma"/>): no full-size Cb/Cr tensor, no concatenation. The region is
/// the whole image, or a tile with at least <see cref="MatlabImresize.UpscaleReach"/> pixels of context wherever it
/// does not touch the image's border (so clamping at the region's edge is clamping at the image's edge).
/// </summary>
internal sealed class ChromaPlanes : IDisposable
{
    private readonly PooledArray<float> _cb;
    private readonly PooledArray<float> _cr;

    /// <summary>Pooled, uninitialised planes for the <paramref name="width"/> x <paramref name="height"/> region at (<paramref name="left"/>, <paramref name="top"/>) of the LR image.</summary>
    public ChromaPlanes(int left, int top, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"A {width}x{height} chroma region is empty.");
        (Left, Top, Width, Height) = (left, top, width, height);
        int length = checked(width * height);
        _cb = new PooledArray<float>(length);
        _cr = new PooledArray<float>(length);
    }

    /// <summary>The region's left edge in the LR image.</summary>
    public int Left { get; }

    /// <summary>The region's top edge in the LR image.</summary>
    public int Top { get; }

    /// <summary>The region's width.</summary>
    public int Width { get; }

    /// <summary>The region's height.</summary>
    public int Height { get; }

    /// <summary>Cb / 255, row-major.</summary>
    public Span<float> Cb => _cb.Span;

    /// <summary>Cr / 255, row-major.</summary>
    public Span<float> Cr => _cr.Span;

    /// <summary>
    /// MATLAB-bicubic upscaling by <paramref name="scale"/> (in float32, nothing rounded) of the LR core whose
    /// <paramref name="width"/> x <paramref name="height"/> pixels start at (<paramref name="left"/>, <paramref name="top"/>)
    /// in the LR image, served one output row at a time. The values are those of <see cref="TorchBicubic.Upscale"/> on
    /// the whole image to float rounding (the same taps; width first here, height first there).
    /// </summary>
    public UpscaledRows Upscale(int scale, int left, int top, int width, int height)
    {
        int coreLeft = left - Left, coreTop = top - Top;
        if (scale < 1 || coreLeft < 0 || coreTop < 0 || width <= 0 || height <= 0 || coreLeft + width > Width || coreTop + height > Height)
            throw new ArgumentException($"A {width}x{height} core at ({left}, {top}) at x{scale} does not fit the {Width}x{Height} chroma region at ({Left}, {Top}).");
        return new UpscaledRows(this, scale, coreLeft, coreTop, width, height);
    }

    private bool _disposed;

    /// <summary>Returns the planes to the pool (once).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _cb.Dispose();
        _cr.Dispose();
    }

    /// <summary>
    /// The upscaled Cb and Cr of one core, row by row: the LR rows it reads are upscaled along the width once (into a
    /// pooled buffer), and each output row is then a few multiply-adds of those rows, vectorised along the row.
    /// </summary>
    internal sealed class UpscaledRows : IDisposable
    {
        private const int Reach = MatlabImresize.UpscaleReach;
        private readonly int _scale;
        private readonly int _width;
        private readonly int _firstRow;
        private readonly int _lastRow;
        private readonly int _coreTop;
        private readonly (int[] Offsets, float[] Weights)[] _taps;
        private readonly PooledArray<float> _wideCb;
        private readonly PooledArray<float> _wideCr;

        public UpscaledRows(ChromaPlanes planes, int scale, int coreLeft, int coreTop, int width, int height)
        {
            _scale = scale;
            _width = checked(width * scale);
            _coreTop = coreTop;
            _taps = MatlabImresize.UpscalePhaseTaps(scale)
                .Select(t => (t.Offsets, t.Weights.Select(w => (float)w).ToArray()))
                .ToArray();
            // The LR rows the vertical taps reach, clamped to the region (= the image where the region ends there).
            _firstRow = Math.Max(0, coreTop - Reach);
            _lastRow = Math.Min(planes.Height - 1, coreTop + height - 1 + Reach);
            int rows = _lastRow - _firstRow + 1;
            _wideCb = new PooledArray<float>(checked(rows * _width));
            _wideCr = new PooledArray<float>(checked(rows * _width));
            using var padded = new PooledArray<float>(width + 2 * Reach);
            using var phases = new PooledArray<float>(checked(scale * width));
            for (int row = _firstRow; row <= _lastRow; row++)
            {
                int destination = (row - _firstRow) * _width;
                Widen(planes.Cb.Slice(row * planes.Width, planes.Width), coreLeft, width, padded.Span, phases.Span, _wideCb.Span.Slice(destination, _width));
                Widen(planes.Cr.Slice(row * planes.Width, planes.Width), coreLeft, width, padded.Span, phases.Span, _wideCr.Span.Slice(destination, _width));
            }
        }

        /// <summary>Writes output row <paramref name="row"/> of the core (0-based) into <paramref name="cb"/> and <paramref name="cr"/> (the core's width times the scale, each).</summary>
        public void Row(int row, Span<float> cb, Span<float> cr)
        {
            var (offsets, weights) = _taps[row % _scale];
            int source = _coreTop + row / _scale;
            Span<int> starts = stackalloc int[offsets.Length];
            for (int k = 0; k < offsets.Length; k++)
                starts[k] = (Math.Clamp(source + offsets[k], _firstRow, _lastRow) - _firstRow) * _width;
            Combine(_wideCb.Span, starts, weights, cb[.._width]);
            Combine(_wideCr.Span, starts, weights, cr[.._width]);
        }

        /// <summary>out[x] = sum_k weights[k] * rows[starts[k] + x], in tap order (vectorised, then the scalar tail).</summary>
        private static void Combine(ReadOnlySpan<float> rows, ReadOnlySpan<int> starts, float[] weights, Span<float> output)
        {
            int length = output.Length, x = 0;
            foreach (int start in starts)
                if (start < 0 || start + length > rows.Length)
                    throw new ArgumentOutOfRangeException(nameof(starts), start, "A tap reads outside the rows."); // the loads below are unchecked
            ref float source = ref MemoryMarshal.GetReference(rows);
            if (Vector.IsHardwareAccelerated && weights.Length == 4)
            {
                // MATLAB's cubic has four taps per phase at x2 and above: the weights broadcast once, no inner loop; the
                // same operations in the same order as the general loop below.
                int count = Vector<float>.Count, s0 = starts[0], s1 = starts[1], s2 = starts[2], s3 = starts[3];
                Vector<float> w0 = new(weights[0]), w1 = new(weights[1]), w2 = new(weights[2]), w3 = new(weights[3]);
                ref float destination = ref MemoryMarshal.GetReference(output);
                for (; x <= length - count; x += count)
                {
                    var sum = Vector.LoadUnsafe(ref source, (nuint)(s0 + x)) * w0;
                    sum += Vector.LoadUnsafe(ref source, (nuint)(s1 + x)) * w1;
                    sum += Vector.LoadUnsafe(ref source, (nuint)(s2 + x)) * w2;
                    sum += Vector.LoadUnsafe(ref source, (nuint)(s3 + x)) * w3;
                    sum.StoreUnsafe(ref destination, (nuint)x);
                }
            }
            else if (Vector.IsHardwareAccelerated)
            {
                int count = Vector<float>.Count;
                for (; x <= length - count; x += count)
                {
                    var sum = Vector.LoadUnsafe(ref source, (nuint)(starts[0] + x)) * weights[0];
                    for (int k = 1; k < weights.Length; k++)
                        sum += Vector.LoadUnsafe(ref source, (nuint)(starts[k] + x)) * weights[k];
                    sum.CopyTo(output.Slice(x, count));
                }
            }

            for (; x < length; x++)
            {
                float sum = rows[starts[0] + x] * weights[0];
                for (int k = 1; k < weights.Length; k++)
                    sum += rows[starts[k] + x] * weights[k];
                output[x] = sum;
            }
        }

        /// <summary>
        /// One LR row's core (<paramref name="width"/> samples from <paramref name="coreLeft"/>) upscaled along the
        /// width into <paramref name="output"/>: the row replicate-padded by the taps' reach (MATLAB clamps at the
        /// border), each phase a few multiply-adds over shifted views of it (into <paramref name="phases"/>, phase p at
        /// p * width), then the phases interleaved.
        /// </summary>
        private void Widen(ReadOnlySpan<float> row, int coreLeft, int width, Span<float> padded, Span<float> phases, Span<float> output)
        {
            // padded[i] = row[clamp(coreLeft - Reach + i)]: a copy where the row has the samples, clamped at its ends.
            int first = Math.Max(0, Reach - coreLeft), last = Math.Min(width + 2 * Reach, row.Length - coreLeft + Reach);
            for (int i = 0; i < first; i++)
                padded[i] = row[0];
            row.Slice(coreLeft - Reach + first, last - first).CopyTo(padded[first..]);
            for (int i = last; i < width + 2 * Reach; i++)
                padded[i] = row[^1];
            Span<int> starts = stackalloc int[2 * Reach + 1];
            for (int p = 0; p < _scale; p++)
            {
                var (offsets, weights) = _taps[p];
                for (int k = 0; k < offsets.Length; k++)
                    starts[k] = Reach + offsets[k];
                Combine(padded[..(width + 2 * Reach)], starts[..offsets.Length], weights, phases.Slice(p * width, width));
            }

            Interleave(phases[..(_scale * width)], width, output[..(_scale * width)]);
        }

        /// <summary>output[j * s + p] = phases[p * width + j]: with SSE for x2 and x4 (unpacks), element by element otherwise.</summary>
        private void Interleave(ReadOnlySpan<float> phases, int width, Span<float> output)
        {
            int s = _scale, j = 0;
            ref float source = ref MemoryMarshal.GetReference(phases);
            ref float destination = ref MemoryMarshal.GetReference(output);
            if (Sse.IsSupported && s == 2)
            {
                for (; j <= width - 4; j += 4)
                {
                    var a = Vector128.LoadUnsafe(ref source, (nuint)j);
                    var b = Vector128.LoadUnsafe(ref source, (nuint)(width + j));
                    Sse.UnpackLow(a, b).StoreUnsafe(ref destination, (nuint)(2 * j));
                    Sse.UnpackHigh(a, b).StoreUnsafe(ref destination, (nuint)(2 * j + 4));
                }
            }
            else if (Sse.IsSupported && s == 4)
            {
                for (; j <= width - 4; j += 4)
                {
                    // The 4 x 4 transpose: rows p0..p3 (4 samples each) become 4 output groups (p0, p1, p2, p3).
                    var p0 = Vector128.LoadUnsafe(ref source, (nuint)j);
                    var p1 = Vector128.LoadUnsafe(ref source, (nuint)(width + j));
                    var p2 = Vector128.LoadUnsafe(ref source, (nuint)(2 * width + j));
                    var p3 = Vector128.LoadUnsafe(ref source, (nuint)(3 * width + j));
                    Vector128<float> low01 = Sse.UnpackLow(p0, p1), low23 = Sse.UnpackLow(p2, p3);
                    Vector128<float> high01 = Sse.UnpackHigh(p0, p1), high23 = Sse.UnpackHigh(p2, p3);
                    Sse.MoveLowToHigh(low01, low23).StoreUnsafe(ref destination, (nuint)(4 * j));
                    Sse.MoveHighToLow(low23, low01).StoreUnsafe(ref destination, (nuint)(4 * j + 4));
                    Sse.MoveLowToHigh(high01, high23).StoreUnsafe(ref destination, (nuint)(4 * j + 8));
                    Sse.MoveHighToLow(high23, high01).StoreUnsafe(ref destination, (nuint)(4 * j + 12));
                }
            }

            for (; j < width; j++)
                for (int p = 0; p < s; p++)
                    output[j * s + p] = phases[p * width + j];
        }

        private bool _disposed;

        /// <summary>Returns the widened rows to the pool (once).</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            _wideCb.Dispose();
            _wideCr.Dispose();
        }
    }
}
