using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Tests.Architectures;
using MLNet.SuperResolution.Training;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Training;

/// <summary>
/// Networks whose reference recipe trains some layers at another rate (FSRCNN: the tail at a tenth) get one Adam
/// parameter group per rate, and the schedule keeps the ratio: Adam's first step moves every weight by about the
/// learning rate (m / sqrt(v) = ±1), so one step shows each group's rate in the weights themselves.
/// </summary>
[Collection(TorchRngCollection.Name)]
public sealed class LearningRateScaleTests
{
    private const double Rate = 1e-3;

    private static TrainingSettings OneStep(SrLearningRateSchedule schedule) =>
        new(Scale: 2, Epochs: 1, PatchesPerImage: 4, BatchSize: 4, PatchSize: 16, LearningRate: Rate,
            Schedule: schedule, Loss: SrLoss.L1, Seed: 3, LogEveryNSteps: 0, Device: CPU);

    [Theory]
    [InlineData(SrLearningRateSchedule.Constant)]
    [InlineData(SrLearningRateSchedule.Cosine)] // the first step of a cosine schedule is at the full rate too
    public void FsrcnnTrainsItsTailAtATenthOfTheRate(SrLearningRateSchedule schedule)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        using var network = NetworkFactory.Create(SrArchitecture.Fsrcnn, 2, 1);
        Assert.Equal([("last_part.", 0.1)], network.LearningRateScales);
        var before = network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var pair = new TrainingPair(rand(1, 16, 16), rand(1, 32, 32));

        var summary = SrTrainer.Train(network, [pair], OneStep(schedule), new SilentMonitor());

        Assert.Equal(1, summary.Steps);
        double MaxMove(string prefix) => network.named_parameters().Where(p => p.name.StartsWith(prefix, StringComparison.Ordinal))
            .Max(p => (p.parameter.detach() - before[p.name]).abs().max().item<float>());
        Assert.Equal(Rate, MaxMove("first_part."), Rate * 0.02);
        Assert.Equal(Rate, MaxMove("mid_part."), Rate * 0.02);
        Assert.Equal(Rate * 0.1, MaxMove("last_part."), Rate * 0.002);
    }

    [Fact]
    public void NetworksWithoutScalesGetOneGroupAtTheRate()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Espcn, 2, 1);
        using var optimizer = SrTrainer.CreateOptimizer(network, OneStep(SrLearningRateSchedule.Constant), out double[] scales);
        Assert.Equal([1.0], scales);
        Assert.Equal(Rate, Assert.Single(optimizer.ParamGroups).LearningRate, 1e-12);
    }

    [Fact]
    public void FsrcnnGetsOneGroupPerScaleInTheOptimiser()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Fsrcnn, 3, 3, FsrcnnOptions.Notes);
        using var optimizer = SrTrainer.CreateOptimizer(network, OneStep(SrLearningRateSchedule.Constant), out double[] scales);
        Assert.Equal([1.0, 0.1], scales);
        var groups = optimizer.ParamGroups.Cast<TorchSharp.Modules.Adam.ParamGroup>().ToArray();
        Assert.Equal([Rate, Rate * 0.1], groups.Select(g => g.LearningRate).ToArray());
        // Every trainable parameter is in exactly one group; the tail's (the 9x9 convolution after bilinear upsampling) in the second.
        Assert.Equal(network.parameters().Count(), groups.Sum(g => g.Parameters.Count()));
        Assert.Equal(2, groups[1].Parameters.Count());
    }

    [Fact]
    public void ACheckpointWithAnotherGroupingSaysToStartAgain()
    {
        using var scope = NewDisposeScope();
        using var network = NetworkFactory.Create(SrArchitecture.Fsrcnn, 2, 1);
        string path = Path.Combine(Path.GetTempPath(), $"sr-groups-{Guid.NewGuid():N}.srcheckpoint");
        try
        {
            // Written as before FSRCNN had its tail rate: one group for every parameter.
            using (var oneGroup = optim.Adam(network.parameters(), Rate))
            using (var state = new TrainingState())
                TrainingCheckpoint.Save(path, network, oneGroup, null, state);

            using var twoGroups = SrTrainer.CreateOptimizer(network, OneStep(SrLearningRateSchedule.Constant), out _);
            using var resumed = new TrainingState();
            var error = Assert.Throws<InvalidOperationException>(() => TrainingCheckpoint.Load(path, network, twoGroups, null, resumed));
            Assert.Contains("grouped the network's parameters differently", error.Message);
            Assert.Contains("empty CheckpointDirectory", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class SilentMonitor : ITrainingMonitor
    {
        public void CheckAlive() { }

        public void Info(string message) { }

        public void Warning(string message) { }

        public void Progress(int epoch, int step, int totalSteps, double loss) { }
    }
}
