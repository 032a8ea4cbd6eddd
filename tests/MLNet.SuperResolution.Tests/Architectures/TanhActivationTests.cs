using MLNet.SuperResolution.Architectures.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// <see cref="TanhActivation"/> (2 sigmoid(2x) - 1 on the CPU) is tanh: values, gradients, with and without autograd,
/// and no state_dict entries.
/// </summary>
public sealed class TanhActivationTests
{
    /// <summary>-12..12 densely, tiny values around 0 and exact zeros: where sigmoid saturates and where it is near 1/2.</summary>
    private static Tensor Inputs()
    {
        var dense = linspace(-12, 12, 24_001, ScalarType.Float32);
        var tiny = linspace(-1e-4, 1e-4, 2_001, ScalarType.Float32);
        return cat(new[] { dense, tiny, zeros(4) }).view(1, 2, 1, -1); // 26,006 values, two channels
    }

    [Fact]
    public void Values_EqualTanh_WithinAFewUlpsOfOneHalf()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Inputs();
        var expected = x.to(ScalarType.Float64).tanh();
        var actual = new TanhActivation().forward(x);
        double worst = actual.to(ScalarType.Float64).sub(expected).abs().max().item<double>();
        Assert.True(worst <= 2.4e-7, $"max |2 sigmoid(2x) - 1 - tanh(x)| = {worst:E2}");
        Assert.Equal(x.shape, actual.shape);
        Assert.Equal(0f, actual.view(-1)[-1].item<float>()); // tanh(0) = 0 exactly
        Assert.False(ReferenceEquals(x, actual));
        Assert.Equal(0.0, x.view(-1)[-1].item<float>()); // the input is not modified in place
    }

    [Fact]
    public void Gradients_EqualOneMinusTanhSquared_AndTheInputIsLeftAlone()
    {
        using var scope = NewDisposeScope();
        var x = Inputs().requires_grad_();
        var before = x.detach().clone();
        var weights = linspace(-1, 1, x.NumberOfElements, ScalarType.Float32).view(x.shape);
        new TanhActivation().forward(x).mul(weights).sum().backward();
        var expected = before.to(ScalarType.Float64).tanh().pow(2).neg().add(1).mul(weights.to(ScalarType.Float64));
        double worst = x.grad!.to(ScalarType.Float64).sub(expected).abs().max().item<double>();
        Assert.True(worst <= 1e-6, $"max gradient difference {worst:E2}");
        Assert.True(x.detach().eq(before).all().item<bool>());
    }

    [Fact]
    public void InsideANetworkUnderTraining_BackwardRuns_AndHasNoParameters()
    {
        using var scope = NewDisposeScope();
        var layer = new TanhActivation();
        Assert.Empty(layer.state_dict());
        var conv = nn.Conv2d(1, 4, 3, padding: 1);
        var input = rand(2, 1, 8, 8);
        var output = layer.forward(conv.forward(input));
        output.sum().backward(); // the in-place steps must not touch anything autograd saved
        Assert.NotNull(conv.weight!.grad);
        Assert.True(conv.weight.grad!.isfinite().all().item<bool>());
        var reference = conv.forward(input).tanh().detach();
        Assert.True(output.detach().sub(reference).abs().max().item<float>() <= 2.4e-7f);
    }
}
