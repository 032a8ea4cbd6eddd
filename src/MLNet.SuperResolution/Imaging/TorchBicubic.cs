using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB bicubic resizing as a fixed (parameter-free, differentiable) torch operation, for networks that work
/// on a pre-upscaled image (SRCNN, VDSR, ...), the Bicubic baseline network and training. (Inference upscales the Cb/Cr
/// of Y-channel networks with the same taps in managed code, <see cref="ChromaPlanes"/>.)
/// </summary>
/// <remarks>
/// The resize is linear and separable, height first as MATLAB, and nothing is rounded between the passes (unlike the
/// 8-bit <see cref="MatlabImresize.Upscale"/>). Upscaling for inference (no autograd) on the CPU applies MATLAB's few
/// taps per output phase to a replicate-padded input (<see cref="MatlabImresize.UpscalePhaseTaps"/>); with autograd on,
/// on other devices, and for downscaling (a wider antialiasing kernel), it is two matrix products with
/// <see cref="MatlabImresize.WeightMatrix"/>, out = Mh @ x @ Mw^T, the matrices cached. Both forms give the same values
/// to float rounding (1e-12 in float64).
/// </remarks>
internal static class TorchBicubic
{
    /// <summary>
    /// Most bytes the cached weight matrices may hold together (64 MiB). A matrix pair grows with the square of the
    /// image side (a 2000-pixel side upscaled x2 under autograd is 8 x 4000 x 2000 = 64 MB in float32), and a process
    /// that resizes images of many sizes would otherwise keep one pair per side it ever saw: the least recently used
    /// pairs are evicted, and a pair larger than the budget is built for its call only.
    /// </summary>
    internal const long CacheBudgetBytes = 64L << 20;

    private static readonly object CacheLock = new();

    /// <summary>The cached pairs, most recently used first (guarded by <see cref="CacheLock"/>).</summary>
    private static readonly LinkedList<CachedMatrix> CacheOrder = new();

    private static readonly Dictionary<MatrixKey, LinkedListNode<CachedMatrix>> CacheIndex = new();

    private static long _cachedBytes;

    /// <summary>The bytes the cache holds now (tests and benchmarks).</summary>
    internal static long CachedBytes
    {
        get
        {
            lock (CacheLock)
                return _cachedBytes;
        }
    }

    /// <summary>Upscales [N, C, H, W] to [N, C, H*scale, W*scale] in float (no rounding), on the input's device and dtype.</summary>
    /// <param name="input">A floating-point tensor [N, C, H, W].</param>
    /// <param name="scale">The integer enlargement factor (1 or more).</param>
    /// <returns>The upscaled tensor; gradients flow back to <paramref name="input"/>.</returns>
    public static Tensor Upscale(Tensor input, int scale)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4)
            throw new ArgumentException($"Expected a [N, C, H, W] tensor, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        if (!input.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {input.dtype}.", nameof(input));
        if (scale < 1)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be 1 or more.");

        using var scope = NewDisposeScope();
        if (is_grad_enabled() || input.device_type != DeviceType.CPU)
        {
            // Training (autograd on): two matrix products, two graph nodes, the cached matrices small at patch sizes.
            // On a GPU always: two kernel launches where the banded form launches about 25 (x2), which made SRCNN's and
            // VDSR's forward slower than PyTorch's there (docs/performance.md, "On a GPU").
            int height = (int)input.shape[2], width = (int)input.shape[3];
            var rows = Matrix(height, scale, input.dtype, input.device, transposed: false);      // [H*s, H]
            var columns = Matrix(width, scale, input.dtype, input.device, transposed: true);    // [W, W*s]
            return rows.matmul(input).matmul(columns).MoveToOuterDisposeScope();
        }

        // Inference: the banded form, a few multiply-adds per output sample (Cb/Cr of a 256x256 image at x2: 0.43 ms
        // against 2.0 for the matrices, which cost one multiply-add per input sample of the row).
        var taps = MatlabImresize.UpscalePhaseTaps(scale);
        return UpscaleAxis(UpscaleAxis(input, taps, dim: 2), taps, dim: 3).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Upscales one axis (2: height, 3: width) of [N, C, H, W] with MATLAB's taps per output phase: the input is
    /// replicate-padded by <see cref="MatlabImresize.UpscaleReach"/> (MATLAB clamps indices at the borders, the same
    /// values), each phase is a weighted sum of a few shifted views, and the phases are interleaved: a few multiply-adds
    /// per output sample, where a dense weight matrix per axis costs one per input sample of the row.
    /// </summary>
    private static Tensor UpscaleAxis(Tensor input, (int[] Offsets, double[] Weights)[] taps, int dim)
    {
        int scale = taps.Length;
        if (scale == 1 && taps[0].Offsets is [0] && taps[0].Weights is [1.0])
            return input.alias();
        const int reach = MatlabImresize.UpscaleReach;
        long length = input.shape[dim];
        var padded = nn.functional.pad(input, dim == 2 ? [0, 0, reach, reach] : [reach, reach, 0, 0], PaddingModes.Replicate);
        var phases = new Tensor[scale];
        for (int phase = 0; phase < scale; phase++)
        {
            var (offsets, weights) = taps[phase];
            // Explicit Scalars, disposed after use (docs/implementation-notes.md, "TorchSharp Scalars").
            using (var first = weights[0].ToScalar())
                phases[phase] = padded.narrow(dim, reach + offsets[0], length).mul(first);
            for (int k = 1; k < offsets.Length; k++)
            {
                using var weight = weights[k].ToScalar();
                phases[phase].add_(padded.narrow(dim, reach + offsets[k], length), weight);
            }
        }

        // [N, C, H, s, W] -> [N, C, H*s, W], or [N, C, H, W, s] -> [N, C, H, W*s]: phase p of sample m is output m*s + p.
        var interleaved = stack(phases, dim + 1);
        var shape = input.shape.ToArray();
        shape[dim] = length * scale;
        return interleaved.reshape(shape);
    }

    /// <summary>
    /// Downscales [N, C, H, W] to [N, C, H/factor, W/factor] as MATLAB <c>imresize(x, 1/factor, 'bicubic')</c>
    /// (antialiasing kernel), in float without rounding, on the input's device and dtype.
    /// </summary>
    /// <param name="input">A floating-point tensor [N, C, H, W]; H and W must be multiples of <paramref name="factor"/>.</param>
    /// <param name="factor">The integer shrink factor (1 or more).</param>
    /// <returns>The downscaled tensor; gradients flow back to <paramref name="input"/>.</returns>
    public static Tensor Downscale(Tensor input, int factor)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4)
            throw new ArgumentException($"Expected a [N, C, H, W] tensor, got shape [{string.Join(", ", input.shape)}].", nameof(input));
        if (!input.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {input.dtype}.", nameof(input));
        if (factor < 1)
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor must be 1 or more.");
        int height = (int)input.shape[2], width = (int)input.shape[3];
        if (height % factor != 0 || width % factor != 0)
            throw new ArgumentException($"Downscale by {factor} needs a height and width that are multiples of {factor}; got {height}x{width}.", nameof(input));

        using var scope = NewDisposeScope();
        var rows = DownscaleMatrix(height, factor, input.dtype, input.device, transposed: false);    // [H/f, H]
        var columns = DownscaleMatrix(width, factor, input.dtype, input.device, transposed: true);  // [W, W/f]
        return rows.matmul(input).matmul(columns).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Upscaling weight matrix [length * scale, length] (M^T, [length, length * scale], when <c>transposed</c>), through
    /// the cache: a tensor that the caller owns; disposing it leaves the cached copy intact.
    /// </summary>
    private static Tensor Matrix(int length, int scale, ScalarType dtype, Device device, bool transposed)
        => Matrix(new MatrixKey(length, checked(length * scale), dtype), device, transposed);

    /// <summary>
    /// Downscaling weight matrix [length / factor, length] (M^T when <c>transposed</c>), through the cache: a tensor
    /// that the caller owns; disposing it leaves the cached copy intact.
    /// </summary>
    private static Tensor DownscaleMatrix(int length, int factor, ScalarType dtype, Device device, bool transposed)
        => Matrix(new MatrixKey(length, length / factor, dtype), device, transposed);

    private static Tensor Matrix(MatrixKey key, Device device, bool transposed)
    {
        lock (CacheLock)
        {
            if (CacheIndex.TryGetValue(key, out var node))
            {
                CacheOrder.Remove(node);
                CacheOrder.AddFirst(node);
                // Tensor.to always makes a new handle (aliasing the storage when nothing changes), so the cache survives its disposal.
                return node.Value.Get(transposed).to(key.DType, device);
            }

            var built = CachedMatrix.Create(key);
            var result = built.Get(transposed).to(key.DType, device);
            if (built.Bytes > CacheBudgetBytes)
            {
                built.Dispose(); // the caller's alias keeps what it needs
                return result;
            }

            CacheIndex[key] = CacheOrder.AddFirst(built);
            _cachedBytes += built.Bytes;
            while (_cachedBytes > CacheBudgetBytes)
            {
                var evicted = CacheOrder.Last!.Value;
                CacheOrder.RemoveLast();
                CacheIndex.Remove(evicted.Key);
                _cachedBytes -= evicted.Bytes;
                evicted.Dispose();
            }

            return result;
        }
    }

    /// <summary>A cached matrix: input length, output length (shrinking included) and dtype.</summary>
    private readonly record struct MatrixKey(int Length, int OutLength, ScalarType DType);

    /// <summary>One dimension's weight matrix M [out, in] and its transpose, contiguous CPU tensors of one dtype, outside every dispose scope.</summary>
    private sealed record CachedMatrix(MatrixKey Key, Tensor Matrix, Tensor Transposed) : IDisposable
    {
        public long Bytes => 2L * Matrix.NumberOfElements * Matrix.ElementSize;

        public Tensor Get(bool transposed) => transposed ? Transposed : Matrix;

        /// <summary>Builds M from <see cref="MatlabImresize.WeightMatrix"/> (in float64, then converted).</summary>
        public static CachedMatrix Create(MatrixKey key)
        {
            var weights = MatlabImresize.WeightMatrix(key.Length, key.OutLength);
            var flat = new double[key.OutLength * key.Length];
            Buffer.BlockCopy(weights, 0, flat, 0, flat.Length * sizeof(double));
            using var scope = NewDisposeScope();
            var float64 = tensor(flat, new long[] { key.OutLength, key.Length });
            var matrix = float64.to(key.DType).contiguous();
            var transposed = matrix.t().contiguous();
            return new CachedMatrix(key, matrix.DetachFromDisposeScope(), transposed.DetachFromDisposeScope());
        }

        public void Dispose()
        {
            Matrix.Dispose();
            Transposed.Dispose();
        }
    }
}
