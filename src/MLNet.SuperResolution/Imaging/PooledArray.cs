using System.Buffers;
using System.Runtime.CompilerServices;

namespace MLNet.SuperResolution.Imaging;

/// <summary>
/// A scratch buffer for one image or tile: rented from the shared pool up to <see cref="PoolLimitBytes"/> (so that
/// upscaling image after image allocates nothing), allocated plainly above it (so that one huge image does not leave
/// hundreds of megabytes parked in the pool). Dispose returns a rented buffer.
/// </summary>
/// <typeparam name="T">The element type (bytes for 8-bit images, floats for colour planes).</typeparam>
internal readonly struct PooledArray<T> : IDisposable
    where T : unmanaged
{
    /// <summary>Largest buffer taken from the pool: 16 MB, a 2048 x 2048 BGRA image.</summary>
    public const int PoolLimitBytes = 16 * 1024 * 1024;

    private readonly T[] _array;
    private readonly bool _rented;

    /// <summary>A buffer of at least <paramref name="length"/> elements (its contents are undefined).</summary>
    public PooledArray(int length)
    {
        _rented = (long)length * Unsafe.SizeOf<T>() <= PoolLimitBytes;
        _array = _rented ? ArrayPool<T>.Shared.Rent(length) : new T[length];
        Length = length;
    }

    /// <summary>The requested length.</summary>
    public int Length { get; }

    /// <summary>The underlying array (it may be longer than <see cref="Length"/>).</summary>
    public T[] Array => _array;

    /// <summary>The first <see cref="Length"/> elements.</summary>
    public Span<T> Span => _array.AsSpan(0, Length);

    /// <summary>Returns a rented buffer to the pool.</summary>
    public void Dispose()
    {
        if (_rented)
            ArrayPool<T>.Shared.Return(_array);
    }
}
