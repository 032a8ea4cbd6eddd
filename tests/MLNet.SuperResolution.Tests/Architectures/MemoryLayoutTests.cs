using MLNet.SuperResolution.Architectures.Blocks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>Channels-last by strides: what the CPU inference path gives networks, and what pre-upsampling networks restore.</summary>
public class MemoryLayoutTests
{
    [Fact]
    public void ToChannelsLast_KeepsShapeAndValues_WithNhwcStrides()
    {
        using var scope = NewDisposeScope();
        var x = arange(2 * 3 * 4 * 5, dtype: ScalarType.Float32).reshape(2, 3, 4, 5);
        var nhwc = MemoryLayout.ToChannelsLast(x);
        Assert.Equal(x.shape, nhwc.shape);
        Assert.Equal(new long[] { 60, 1, 15, 3 }, nhwc.stride());
        Assert.True(nhwc.eq(x).all().item<bool>());
        Assert.True(MemoryLayout.IsChannelsLast(nhwc));
        Assert.False(MemoryLayout.IsChannelsLast(x));
    }

    [Fact]
    public void IsChannelsLast_IsFalseForOneChannel_AndForOtherRanks()
    {
        using var scope = NewDisposeScope();
        Assert.False(MemoryLayout.IsChannelsLast(MemoryLayout.ToChannelsLast(rand(1, 1, 4, 5)))); // the same memory either way
        Assert.False(MemoryLayout.IsChannelsLast(rand(3, 4, 5)));
        Assert.False(MemoryLayout.IsChannelsLast(rand(2, 3, 4, 5).transpose(2, 3))); // strided, but not NHWC
    }
}
