using MLNet.SuperResolution.Training;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Training;

/// <summary>Pieces of the training loop that are easiest to check directly.</summary>
public sealed class SrTrainerTests
{
    [Fact]
    public void AugmentationIsABijectionOnPatchPixels()
    {
        using var scope = NewDisposeScope();
        var patch = arange(3 * 5 * 5).reshape(3, 5, 5).to(float32);
        var seen = new HashSet<string>();
        for (int transform = 0; transform < 8; transform++)
        {
            var augmented = SrTrainer.Augment(patch, transform);
            Assert.Equal(new long[] { 3, 5, 5 }, augmented.shape);
            // Same multiset of values: a permutation of the pixels, channels kept together.
            Assert.True(augmented.flatten().sort().Values.eq(patch.flatten().sort().Values).all().item<bool>());
            Assert.True(augmented[0].add(25).eq(augmented[1]).all().item<bool>());
            seen.Add(string.Join(",", augmented[0].flatten().data<float>().ToArray()));
        }

        Assert.Equal(8, seen.Count); // the 8 symmetries of the square are all different
    }
}
