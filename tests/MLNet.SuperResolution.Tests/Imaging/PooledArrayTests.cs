using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>Image-sized scratch buffers come from the shared pool, huge ones never stay in it.</summary>
public sealed class PooledArrayTests
{
    [Fact]
    public void ABufferWithinTheLimit_IsReusedAfterDispose()
    {
        byte[] first;
        using (var buffer = new PooledArray<byte>(3 * 512 * 512))
        {
            first = buffer.Array;
            Assert.True(first.Length >= buffer.Length);
            Assert.Equal(3 * 512 * 512, buffer.Span.Length);
        }

        using var again = new PooledArray<byte>(3 * 512 * 512);
        Assert.Same(first, again.Array); // the pool hands the returned array back to this thread
    }

    [Fact]
    public void ABufferAboveTheLimit_IsAPlainArrayOfExactlyItsLength()
    {
        const int length = PooledArray<byte>.PoolLimitBytes + 1;
        byte[] first;
        using (var buffer = new PooledArray<byte>(length))
        {
            first = buffer.Array;
            Assert.Equal(length, first.Length);
        }

        using var again = new PooledArray<byte>(length);
        Assert.NotSame(first, again.Array);
    }

    [Fact]
    public void TheLimitIsInBytes_SoFloatBuffersAboveAQuarterOfItsLengthArePlainArrays()
    {
        const int length = PooledArray<float>.PoolLimitBytes / sizeof(float);
        float[] pooled, plain;
        using (var buffer = new PooledArray<float>(length))
            pooled = buffer.Array;
        using (var again = new PooledArray<float>(length))
            Assert.Same(pooled, again.Array);
        using (var buffer = new PooledArray<float>(length + 1))
            plain = buffer.Array;
        Assert.Equal(length + 1, plain.Length);
        using var third = new PooledArray<float>(length + 1);
        Assert.NotSame(plain, third.Array);
    }
}
