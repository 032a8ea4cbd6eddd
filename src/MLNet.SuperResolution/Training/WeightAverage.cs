using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Training;

/// <summary>
/// Copies of a network's state (every state_dict entry, in order), and the exponential moving average of the weights:
/// after each optimiser step, <c>average = decay * average + (1 - decay) * weights</c> for floating-point entries
/// (parameters and running statistics); integer buffers are copied.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly Tensor[] _live;

    public WeightAverage(nn.Module network, double decay)
    {
        Decay = decay;
        _live = network.state_dict().Values.ToArray();
        Average = Snapshot(network);
    }

    public double Decay { get; }

    /// <summary>The averaged state, in state_dict order.</summary>
    public Tensor[] Average { get; }

    /// <summary>Moves the average one step towards the network's current weights.</summary>
    public void Update()
    {
        using var noGrad = no_grad();
        using var decay = Decay.ToScalar(); // explicit Scalars only: see docs/implementation-notes.md, "TorchSharp Scalars"
        using var rest = (1 - Decay).ToScalar();
        for (int i = 0; i < _live.Length; i++)
        {
            if (_live[i].is_floating_point())
                Average[i].mul_(decay).add_(_live[i], alpha: rest);
            else
                Average[i].copy_(_live[i]);
        }
    }

    /// <summary>Detached copies of the network's state_dict entries, in order.</summary>
    public static Tensor[] Snapshot(nn.Module network)
    {
        using var noGrad = no_grad();
        return network.state_dict().Values.Select(t => t.clone()).ToArray(); // no_grad: plain copies, no graph
    }

    /// <summary>Copies a state (from <see cref="Snapshot"/> or <see cref="Average"/>) into the network.</summary>
    public static void Restore(nn.Module network, IReadOnlyList<Tensor> state)
        => Restore(network.state_dict().Values.ToArray(), state);

    /// <summary>Copies <paramref name="source"/> into <paramref name="target"/>, tensor by tensor.</summary>
    public static void Restore(IReadOnlyList<Tensor> target, IReadOnlyList<Tensor> source)
    {
        using var noGrad = no_grad();
        if (target.Count != source.Count)
            throw new InvalidOperationException($"The saved state has {source.Count} tensors; the network has {target.Count}.");
        for (int i = 0; i < target.Count; i++)
            target[i].copy_(source[i]);
    }

    public void Dispose()
    {
        foreach (var tensor in Average)
            tensor.Dispose();
    }
}
