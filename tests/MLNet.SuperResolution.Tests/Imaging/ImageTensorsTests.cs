using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Imaging;

/// <summary>The image -> tensor conversion (vectorised in libtorch) gives exactly byte / 255f, whole image and regions.</summary>
public sealed class ImageTensorsTests
{
    private static RgbImage AllByteValues(int width, int height)
    {
        var planes = new byte[3 * width * height];
        for (int i = 0; i < planes.Length; i++)
            planes[i] = (byte)((i * 7) + (i / 256)); // every value 0..255 in every plane, in shuffled order
        return new RgbImage(width, height, planes);
    }

    [Fact]
    public void ToTensor_EqualsByteDividedBy255_ForEveryByteValue()
    {
        var image = AllByteValues(32, 24);
        using var t = ImageTensors.ToTensor(image);
        Assert.Equal(new long[] { 1, 3, 24, 32 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        var values = t.data<float>().ToArray();
        Assert.Equal(image.Planes.Length, values.Length);
        Assert.Equal(256, image.Planes.Distinct().Count());
        for (int i = 0; i < values.Length; i++)
            Assert.Equal(image.Planes[i] / 255f, values[i]); // bit for bit, not approximately
    }

    [Fact]
    public void ToTensor_OfARegion_EqualsTheSliceOfTheWholeImage()
    {
        var image = AllByteValues(29, 17);
        using var whole = ImageTensors.ToTensor(image);
        using var region = ImageTensors.ToTensor(image, 5, 3, 11, 9);
        using var slice = whole.narrow(2, 3, 9).narrow(3, 5, 11);
        Assert.Equal(new long[] { 1, 3, 9, 11 }, region.shape);
        using var same = region.eq(slice).all();
        Assert.True(same.item<bool>());
    }

    [Fact]
    public void ToTensor_DoesNotShareMemoryWithTheImage()
    {
        var image = AllByteValues(8, 8);
        using var t = ImageTensors.ToTensor(image);
        float before = t[0, 0, 0, 1].item<float>();
        image.Planes[1] ^= 0xFF;
        Assert.Equal(before, t[0, 0, 0, 1].item<float>());
    }
}
