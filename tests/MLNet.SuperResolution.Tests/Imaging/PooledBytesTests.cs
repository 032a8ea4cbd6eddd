using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>Image-sized scratch buffers come from the shared pool, huge ones never stay in it.</summary>
public sealed class PooledBytesTests
{
    [Fact]
    public void ABufferWithinTheLimit_IsReusedAfterDispose()
    {
        byte[] first;
        using (var buffer = new PooledBytes(3 * 512 * 512))
        {
            first = buffer.Array;
            Assert.True(first.Length >= buffer.Length);
            Assert.Equal(3 * 512 * 512, buffer.Span.Length);
        }

        using var again = new PooledBytes(3 * 512 * 512);
        Assert.Same(first, again.Array); // the pool hands the returned array back to this thread
    }

    [Fact]
    public void ABufferAboveTheLimit_IsAPlainArrayOfExactlyItsLength()
    {
        const int length = PooledBytes.PoolLimit + 1;
        byte[] first;
        using (var buffer = new PooledBytes(length))
        {
            first = buffer.Array;
            Assert.Equal(length, first.Length);
        }

        using var again = new PooledBytes(length);
        Assert.NotSame(first, again.Array);
    }
}
