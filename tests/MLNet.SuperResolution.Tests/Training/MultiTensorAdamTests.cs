using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Tests.Architectures;
using MLNet.SuperResolution.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Training;

/// <summary>
/// The trainer's Adam (flat moment buffers, one set of element-wise kernels per segment) against TorchSharp's
/// per-parameter Adam: the same weights after several steps, with one or two groups and with segments split small;
/// the same checkpoint format (a state saved by one loads into the other); and the per-parameter fallback where a
/// parameter has no gradient.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class MultiTensorAdamTests
{
    private const double Rate = 1e-3;

    [Theory]
    [InlineData(MultiTensor.Adam.DefaultSegmentElements)]
    [InlineData(1000L)] // many segments, and parameters larger than a segment
    public void GivesTheWeightsOfTorchSharpsAdam(long segmentElements)
    {
        using var scope = NewDisposeScope();
        var (reference, candidate) = TwinNetworks(SrArchitecture.EdsrBaseline, SrPreset.Notes);
        using var adam = new Adam(Trainable(reference), Rate, 0.9, 0.999);
        using var multi = new MultiTensor.Adam(Trainable(candidate), Rate, 0.9, 0.999, segmentElements: segmentElements);
        Assert.True(multi.SegmentCount >= (segmentElements == 1000L ? 10 : 1));

        for (int step = 0; step < 4; step++)
        {
            TrainStep(reference, adam, step);
            TrainStep(candidate, multi, step);
        }

        Assert.Equal((4, 0), multi.StepCounts);
        AssertSameWeights(reference, candidate);
    }

    [Fact]
    public void KeepsEachGroupsRate()
    {
        using var scope = NewDisposeScope();
        var (reference, candidate) = TwinNetworks(SrArchitecture.Fsrcnn, SrPreset.Notes);
        Adam.ParamGroup[] Groups(SrNetwork network) =>
        [
            new(network.named_parameters().Where(p => !p.name.StartsWith("last_part.", StringComparison.Ordinal)).Select(p => p.parameter), Rate, 0.9, 0.999, 1e-8, 0, false, false),
            new(network.named_parameters().Where(p => p.name.StartsWith("last_part.", StringComparison.Ordinal)).Select(p => p.parameter), Rate / 10, 0.9, 0.999, 1e-8, 0, false, false),
        ];
        using var adam = new Adam(Groups(reference), Rate, 0.9, 0.999);
        using var multi = new MultiTensor.Adam(Groups(candidate), Rate, 0.9, 0.999);
        Assert.Equal(2, multi.SegmentCount);

        for (int step = 0; step < 3; step++)
        {
            TrainStep(reference, adam, step);
            TrainStep(candidate, multi, step);
        }

        AssertSameWeights(reference, candidate);
    }

    [Fact]
    public void CheckpointsAreInterchangeableWithTorchSharpsAdam()
    {
        using var scope = NewDisposeScope();
        var (reference, candidate) = TwinNetworks(SrArchitecture.Espcn, SrPreset.Notes);
        using var adam = new Adam(Trainable(reference), Rate, 0.9, 0.999);
        TrainStep(reference, adam, 0);
        TrainStep(reference, adam, 1);
        using (no_grad())
        {
            foreach (var (target, source) in candidate.parameters().Zip(reference.parameters()))
                target.copy_(source);
        }

        // TorchSharp's Adam state into ours, then both go on: same weights; ours back into a TorchSharp Adam: same state.
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            adam.save_state_dict(writer);
        stream.Position = 0;
        using var multi = new MultiTensor.Adam(Trainable(candidate), Rate, 0.9, 0.999);
        using (var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            multi.load_state_dict(reader);
        TrainStep(reference, adam, 2);
        TrainStep(candidate, multi, 2);
        Assert.Equal((1, 0), multi.StepCounts);
        AssertSameWeights(reference, candidate);

        using var back = new MemoryStream();
        using (var writer = new BinaryWriter(back, System.Text.Encoding.UTF8, leaveOpen: true))
            multi.save_state_dict(writer);
        back.Position = 0;
        using var again = new Adam(Trainable(reference), Rate, 0.9, 0.999);
        using (var reader = new BinaryReader(back, System.Text.Encoding.UTF8, leaveOpen: true))
            again.load_state_dict(reader);
        var loaded = again.state_dict().State;
        var expected = adam.state_dict().State;
        Assert.Equal(expected.Count, loaded.Count);
        Assert.All(expected.Zip(loaded), pair => Assert.True(pair.First.ApproximatelyEquals(pair.Second)));
    }

    [Fact]
    public void FallsBackToPerParameterStepsWhenAParameterHasNoGradient()
    {
        using var scope = NewDisposeScope();
        var (reference, candidate) = TwinNetworks(SrArchitecture.Espcn, SrPreset.Notes);
        using var adam = new Adam(Trainable(reference), Rate, 0.9, 0.999);
        using var multi = new MultiTensor.Adam(Trainable(candidate), Rate, 0.9, 0.999);
        TrainStep(reference, adam, 0);
        TrainStep(candidate, multi, 0);

        // Only the first layer's weight gets a gradient: the others keep their weights and step counts.
        foreach (var (network, optimizer) in new (SrNetwork, Adam)[] { (reference, adam), (candidate, multi) })
        {
            optimizer.zero_grad();
            foreach (var parameter in Trainable(network).Skip(1))
                parameter.grad = null;
            using var loss = Trainable(network).First().sum();
            loss.backward();
            optimizer.step();
        }

        Assert.Equal((1, 1), multi.StepCounts);
        AssertSameWeights(reference, candidate);

        // All gradients again: the step counts now differ between parameters, so the fallback goes on, still equal.
        TrainStep(reference, adam, 1);
        TrainStep(candidate, multi, 1);
        Assert.Equal((1, 2), multi.StepCounts);
        AssertSameWeights(reference, candidate);
    }

    [Fact]
    public void TheTrainerUsesIt()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Fsrcnn, 3, 3, FsrcnnOptions.Notes);
        var settings = new TrainingSettings(Scale: 3, Epochs: 1, PatchesPerImage: 1, BatchSize: 1, PatchSize: 12, LearningRate: Rate,
            Schedule: SrLearningRateSchedule.Constant, Loss: SrLoss.L1, Seed: 1, LogEveryNSteps: 0, Device: CPU);
        using var optimizer = SrTrainer.CreateOptimizer(network, settings, out _);
        Assert.IsType<MultiTensor.Adam>(optimizer);
    }

    [Fact]
    public void ZeroesGradientsInPlaceOnTheCpu()
    {
        using var scope = NewDisposeScope();
        var (network, _) = TwinNetworks(SrArchitecture.Espcn, SrPreset.Notes);
        using var multi = new MultiTensor.Adam(Trainable(network), Rate, 0.9, 0.999);
        TrainStep(network, multi, 0);
        multi.zero_grad();
        foreach (var parameter in Trainable(network))
        {
            using var gradient = parameter.grad;
            Assert.NotNull(gradient); // kept (set to none only on other devices)
            Assert.Equal(0f, gradient.abs().max().item<float>());
        }
    }

    [Fact]
    public void RefusesOptionsItDoesNotImplement()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 1);
        var error = Assert.Throws<ArgumentException>(() => new MultiTensor.Adam(
            [new Adam.ParamGroup(network.parameters(), Rate, 0.9, 0.999, 1e-8, weight_decay: 0.1, amsgrad: false, maximize: false)], Rate, 0.9, 0.999));
        Assert.Contains("weight decay", error.Message, StringComparison.Ordinal);
    }

    private static IEnumerable<Parameter> Trainable(SrNetwork network) => network.parameters().Where(p => p.requires_grad);

    private static (SrNetwork Reference, SrNetwork Candidate) TwinNetworks(SrArchitecture architecture, SrPreset preset)
    {
        var options = NetworkFactory.Describe(architecture).Options(preset);
        random.manual_seed(5);
        var reference = NetworkFactory.Create(architecture, 2, 3, options);
        random.manual_seed(5);
        var candidate = NetworkFactory.Create(architecture, 2, 3, options);
        AssertSameWeights(reference, candidate);
        return (reference, candidate);
    }

    private static void TrainStep(SrNetwork network, Adam optimizer, int step)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(100 + step));
        var lowRes = rand([2, 3, 12, 12], generator: generator);
        var highRes = rand([2, 3, 24, 24], generator: generator);
        network.train();
        optimizer.zero_grad();
        var loss = network.TrainingLoss(lowRes, highRes, (output, target) => nn.functional.l1_loss(output, target));
        loss.backward();
        optimizer.step();
    }

    private static void AssertSameWeights(SrNetwork expected, SrNetwork actual)
    {
        foreach (var ((name, a), (_, b)) in expected.named_parameters().Zip(actual.named_parameters()))
        {
            using var difference = (a.detach() - b.detach()).abs().max();
            Assert.True(difference.item<float>() == 0f, $"{name}: max |difference| {difference.item<float>():E2}");
        }
    }
}
