using System.Buffers;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// A scratch byte buffer for one image or tile: rented from the shared pool up to <see cref="PoolLimit"/> (so that
/// upscaling image after image allocates nothing), allocated plainly above it (so that one huge image does not leave
/// hundreds of megabytes parked in the pool). Dispose returns a rented buffer.
/// </summary>
internal readonly struct PooledBytes : IDisposable
{
    /// <summary>Largest buffer taken from the pool: 16 MB, a 2048 x 2048 BGRA image.</summary>
    public const int PoolLimit = 16 * 1024 * 1024;

    private readonly byte[] _array;
    private readonly bool _rented;

    /// <summary>A buffer of at least <paramref name="length"/> bytes (its contents are undefined).</summary>
    public PooledBytes(int length)
    {
        _rented = length <= PoolLimit;
        _array = _rented ? ArrayPool<byte>.Shared.Rent(length) : new byte[length];
        Length = length;
    }

    /// <summary>The requested length.</summary>
    public int Length { get; }

    /// <summary>The underlying array (it may be longer than <see cref="Length"/>).</summary>
    public byte[] Array => _array;

    /// <summary>The first <see cref="Length"/> bytes.</summary>
    public Span<byte> Span => _array.AsSpan(0, Length);

    /// <summary>Returns a rented buffer to the pool.</summary>
    public void Dispose()
    {
        if (_rented)
            ArrayPool<byte>.Shared.Return(_array);
    }
}
