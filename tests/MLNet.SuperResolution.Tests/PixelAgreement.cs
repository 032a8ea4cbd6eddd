using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution.Tests;

/// <summary>How far our images are from reference images (e.g. MATLAB's LR files), over all pixel values.</summary>
internal sealed record PixelAgreement(long Total, long Identical, int MaxDifference, double MeanAbsoluteDifference)
{
    public double IdenticalFraction => Identical / (double)Total;

    public static PixelAgreement Measure(IEnumerable<(RgbImage Ours, RgbImage Reference)> pairs)
    {
        long total = 0, identical = 0, absoluteSum = 0;
        int maxDifference = 0;
        foreach (var (ours, reference) in pairs)
        {
            Assert.Equal((reference.Width, reference.Height), (ours.Width, ours.Height));
            for (int i = 0; i < reference.Planes.Length; i++)
            {
                int difference = Math.Abs(ours.Planes[i] - reference.Planes[i]);
                total++;
                identical += difference == 0 ? 1 : 0;
                absoluteSum += difference;
                maxDifference = Math.Max(maxDifference, difference);
            }
        }

        return new PixelAgreement(total, identical, maxDifference, absoluteSum / (double)total);
    }

    /// <summary>
    /// Every byte of <paramref name="actual"/> within one level of <paramref name="expected"/>, and at most
    /// <paramref name="differentFraction"/> of them apart at all (float rounding on a rounding edge).
    /// </summary>
    public static void AssertWithinOneLevel(byte[] expected, byte[] actual, double differentFraction)
    {
        Assert.Equal(expected.Length, actual.Length);
        int different = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.InRange(actual[i] - expected[i], -1, 1);
            different += actual[i] != expected[i] ? 1 : 0;
        }

        Assert.True(different <= (long)(actual.Length * differentFraction), $"{different} of {actual.Length} bytes differ");
    }

    /// <summary>The bounds for reproducing MATLAB's LR files, and the exact match that clamped borders give.</summary>
    public void AssertReproducesMatlab()
    {
        Assert.True(IdenticalFraction >= 0.98, $"Only {IdenticalFraction:P3} of the values equal MATLAB's.");
        Assert.True(MaxDifference <= 8, $"A value differs by {MaxDifference}.");
        Assert.True(MeanAbsoluteDifference < 0.05, $"Mean absolute difference {MeanAbsoluteDifference}.");
        // With MATLAB's clamped borders and rounding after each pass the match is exact; mirrored borders would
        // still pass the bounds above (98.6-99.4% identical) but not this.
        Assert.Equal(Total, Identical);
    }

    public override string ToString()
        => $"{IdenticalFraction:P3} identical, max difference {MaxDifference}, mean absolute difference {MeanAbsoluteDifference:F4} ({Total} values)";
}
