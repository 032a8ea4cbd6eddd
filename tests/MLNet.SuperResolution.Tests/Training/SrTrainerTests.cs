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

    private static LearningRateSchedule Schedule(SrLearningRateSchedule kind, int warmup = 0) =>
        new(kind, BaseRate: 1e-3, TotalSteps: 101, StepsPerEpoch: 10, StepSize: 3, Milestones: new[] { 2, 5 }, Gamma: 0.5, CosineFloor: 0.01, WarmupSteps: warmup);

    [Fact]
    public void ScheduleValuesAtGivenSteps()
    {
        var constant = Schedule(SrLearningRateSchedule.Constant);
        Assert.Equal(1e-3, constant.At(0));
        Assert.Equal(1e-3, constant.At(100));

        var step = Schedule(SrLearningRateSchedule.Step); // x0.5 every 3 epochs of 10 steps
        Assert.Equal(1e-3, step.At(29), 12);
        Assert.Equal(5e-4, step.At(30), 12);
        Assert.Equal(2.5e-4, step.At(60), 12);

        var multi = Schedule(SrLearningRateSchedule.MultiStep); // x0.5 after epochs 2 and 5
        Assert.Equal(1e-3, multi.At(19), 12);
        Assert.Equal(5e-4, multi.At(20), 12);
        Assert.Equal(5e-4, multi.At(49), 12);
        Assert.Equal(2.5e-4, multi.At(50), 12);

        var cosine = Schedule(SrLearningRateSchedule.Cosine); // 101 steps: the middle is step 50, the floor the last
        Assert.Equal(1e-3, cosine.At(0), 12);
        Assert.Equal(1e-3 * (0.01 + 0.99 * 0.5), cosine.At(50), 12);
        Assert.Equal(1e-5, cosine.At(100), 12);

        var warm = Schedule(SrLearningRateSchedule.MultiStep, warmup: 4); // linear ramp, then the schedule
        Assert.Equal(2.5e-4, warm.At(0), 12);
        Assert.Equal(7.5e-4, warm.At(2), 12);
        Assert.Equal(1e-3, warm.At(3), 12);
        Assert.Equal(5e-4, warm.At(25), 12);
    }

    [Fact]
    public void ClippingBoundsTheGradientNorm()
    {
        using var scope = NewDisposeScope();
        using var layer = nn.Linear(4, 3);
        layer.forward(ones(2, 4).mul(100)).square().sum().backward();
        var parameters = layer.parameters().ToArray();
        double before = GlobalNorm(parameters);
        Assert.True(before > 10, $"test gradient too small: {before}");

        double reported = SrTrainer.ClipGradients(parameters, 0.5);
        Assert.Equal(before, reported, before * 1e-5);
        Assert.InRange(GlobalNorm(parameters), 0.49, 0.5 + 1e-5);

        double small = GlobalNorm(parameters);
        SrTrainer.ClipGradients(parameters, 10); // below the bound: unchanged
        Assert.Equal(small, GlobalNorm(parameters), 1e-7);

        static double GlobalNorm(IEnumerable<TorchSharp.Modules.Parameter> ps) => Math.Sqrt(ps.Sum(p => p.grad!.square().sum().item<float>()));
    }

    [Fact]
    public void WeightAverageFollowsItsFormula()
    {
        using var scope = NewDisposeScope();
        using var layer = nn.Linear(2, 1);
        var weight = layer.parameters().First();
        using (no_grad()) weight.copy_(tensor(new float[,] { { 1, 2 } }));
        using var average = new WeightAverage(layer, 0.9);

        double expected = 1; // tracks the first element
        foreach (float value in new[] { 3f, -1f, 5f })
        {
            using (no_grad()) weight.fill_(value);
            average.Update();
            expected = 0.9 * expected + 0.1 * value;
        }

        Assert.Equal(expected, average.Average[0][0, 0].item<float>(), 1e-5);
        WeightAverage.Restore(layer, average.Average);
        Assert.Equal(expected, weight[0, 0].item<float>(), 1e-5);
    }

    [Fact]
    public void StepRandomDependsOnlyOnSeedAndStep()
    {
        Assert.Equal(SrTrainer.StepRandom(7, 12).Next(), SrTrainer.StepRandom(7, 12).Next());
        Assert.NotEqual(SrTrainer.StepRandom(7, 12).Next(), SrTrainer.StepRandom(7, 13).Next());
        Assert.NotEqual(SrTrainer.StepRandom(7, 12).Next(), SrTrainer.StepRandom(8, 12).Next());
    }
}
