using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// MATLAB bicubic resizing as a fixed (parameter-free, differentiable) torch operation, for networks that work
/// on a pre-upscaled image (SRCNN, VDSR, ...) and for Cb/Cr of Y-channel networks.
/// </summary>
/// <remarks>
/// The resize is linear and separable, so it is two matrix products with <see cref="MatlabImresize.WeightMatrix"/>:
/// out = Mh @ x @ Mw^T (height first, as MATLAB). Unlike the 8-bit <see cref="MatlabImresize.Upscale"/> nothing
/// is rounded between the passes.
/// </remarks>
internal static class TorchBicubic
{
    /// <summary>
    /// Weight matrices per (input length, scale), on the CPU in float32 and float64, kept out of every dispose scope.
    /// </summary>
    private static readonly ConcurrentDictionary<(int Length, int Scale), Lazy<CachedMatrix>> Cache = new();

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
        int height = (int)input.shape[2], width = (int)input.shape[3];
        var rows = Matrix(height, scale, input.dtype, input.device, transposed: false);      // [H*s, H]
        var columns = Matrix(width, scale, input.dtype, input.device, transposed: true);    // [W, W*s]
        return rows.matmul(input).matmul(columns).MoveToOuterDisposeScope();
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

    /// <summary>Downscaling weight matrices per (input length, factor), cached like <see cref="Cache"/>.</summary>
    private static readonly ConcurrentDictionary<(int Length, int Factor), Lazy<CachedMatrix>> DownscaleCache = new();

    /// <summary>The downscaling weight matrix for one dimension ([length/factor, length], or its transpose).</summary>
    /// <param name="length">The input length (a multiple of <paramref name="factor"/>).</param>
    /// <param name="factor">The shrink factor.</param>
    /// <param name="dtype">The dtype wanted.</param>
    /// <param name="device">The device wanted.</param>
    /// <param name="transposed">Whether to return M^T.</param>
    /// <returns>A tensor that the caller owns; disposing it leaves the cached CPU copy intact.</returns>
    private static Tensor DownscaleMatrix(int length, int factor, ScalarType dtype, Device device, bool transposed)
    {
        var cached = DownscaleCache.GetOrAdd(
            (length, factor), key => new Lazy<CachedMatrix>(() => CachedMatrix.FromLengths(key.Length, key.Length / key.Factor))).Value;
        var source = dtype == ScalarType.Float64
            ? (transposed ? cached.Float64Transposed : cached.Float64)
            : (transposed ? cached.Float32Transposed : cached.Float32);
        return source.to(dtype, device);
    }

    /// <summary>The weight matrix for one dimension on the requested device and dtype (a new tensor handle).</summary>
    /// <param name="length">The input length along that dimension.</param>
    /// <param name="scale">The enlargement factor.</param>
    /// <param name="dtype">The dtype wanted.</param>
    /// <param name="device">The device wanted.</param>
    /// <param name="transposed">Whether to return M^T ([length, length*scale]) instead of M.</param>
    /// <returns>A tensor that the caller owns; disposing it leaves the cached CPU copy intact.</returns>
    private static Tensor Matrix(int length, int scale, ScalarType dtype, Device device, bool transposed)
    {
        var cached = Cache.GetOrAdd((length, scale), key => new Lazy<CachedMatrix>(() => CachedMatrix.Create(key.Length, key.Scale))).Value;
        var source = dtype == ScalarType.Float64
            ? (transposed ? cached.Float64Transposed : cached.Float64)
            : (transposed ? cached.Float32Transposed : cached.Float32);
        // Tensor.to always makes a new handle (aliasing the storage when nothing changes), so the cache survives its disposal.
        return source.to(dtype, device);
    }

    /// <summary>One dimension's weight matrix and its transpose, contiguous CPU tensors in float32 and float64.</summary>
    /// <param name="Float32">M, [length*scale, length], float32.</param>
    /// <param name="Float32Transposed">M^T, [length, length*scale], float32.</param>
    /// <param name="Float64">M, [length*scale, length], float64.</param>
    /// <param name="Float64Transposed">M^T, [length, length*scale], float64.</param>
    private sealed record CachedMatrix(Tensor Float32, Tensor Float32Transposed, Tensor Float64, Tensor Float64Transposed)
    {
        /// <summary>Builds the tensors from <see cref="MatlabImresize.WeightMatrix"/>, detached from any dispose scope.</summary>
        /// <param name="length">The input length.</param>
        /// <param name="scale">The enlargement factor.</param>
        /// <returns>The cached matrices.</returns>
        public static CachedMatrix Create(int length, int scale) => FromLengths(length, checked(length * scale));

        /// <summary>Builds the tensors for any input and output length (shrinking included), detached from any dispose scope.</summary>
        /// <param name="length">The input length.</param>
        /// <param name="outLength">The output length.</param>
        /// <returns>The cached matrices.</returns>
        public static CachedMatrix FromLengths(int length, int outLength)
        {
            var weights = MatlabImresize.WeightMatrix(length, outLength);
            var flat = new double[outLength * length];
            Buffer.BlockCopy(weights, 0, flat, 0, flat.Length * sizeof(double));
            using var scope = NewDisposeScope();
            var float64 = tensor(flat, new long[] { outLength, length });
            var float64T = float64.t().contiguous();
            var float32 = float64.to(ScalarType.Float32);
            var float32T = float64T.to(ScalarType.Float32);
            return new CachedMatrix(
                float32.DetachFromDisposeScope(), float32T.DetachFromDisposeScope(),
                float64.DetachFromDisposeScope(), float64T.DetachFromDisposeScope());
        }
    }
}
