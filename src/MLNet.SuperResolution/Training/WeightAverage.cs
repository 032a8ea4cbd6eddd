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
        for (int i = 0; i < _live.Length; i++)
        {
            if (_live[i].is_floating_point())
                Average[i].mul_(Decay).add_(_live[i], alpha: 1 - Decay);
            else
                Average[i].copy_(_live[i]);
        }
    }

    /// <summary>Detached copies of the network's state_dict entries, in order.</summary>
    public static Tensor[] Snapshot(nn.Module network)
    {
        using var noGrad = no_grad();
        return network.state_dict().Values.Select(t => t.detach().clone()).ToArray();
    }

    /// <summary>Copies a state (from <see cref="Snapshot"/> or <see cref="Average"/>) into the network.</summary>
    public static void Restore(nn.Module network, IReadOnlyList<Tensor> state)
    {
        using var noGrad = no_grad();
        var live = network.state_dict().Values.ToArray();
        if (live.Length != state.Count)
            throw new InvalidOperationException($"The saved state has {state.Count} tensors; the network has {live.Length}.");
        for (int i = 0; i < live.Length; i++)
            live[i].copy_(state[i]);
    }

    public void Dispose()
    {
        foreach (var tensor in Average)
            tensor.Dispose();
    }
}
