using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using MLNet.SuperResolution.Tests.Architectures;
using static MLNet.SuperResolution.Tests.Inference.InferenceTestNetworks;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Inference;

/// <summary>The x8 self-ensemble: equals a hand-written mean over the dihedral group; leaves a symmetric network unchanged.</summary>
[Collection(TorchRngCollection.Name)]
public sealed class SelfEnsembleTests(ITestOutputHelper output)
{
    private static SrUpscaler Ensemble(SrArchitecture architecture, SrNetwork network, SrInferenceOptions? options = null)
    {
        var inference = options ?? new SrInferenceOptions();
        inference.SelfEnsemble = true;
        return new SrUpscaler(architecture, network.Scale, network.Channels == 1 ? SrChannels.Y : SrChannels.Rgb, network, CPU, inference);
    }

    [Fact]
    public void EqualsTheMeanOverTheEightFlipsAndTransposes()
    {
        using var network = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        var upscaler = Ensemble(SrArchitecture.Espcn, network);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Input(3, 9, 13); // not square: quarter turns swap height and width

        // The dihedral group written independently of rot90: transpose or not, then flip rows and/or columns.
        var sum = zeros(1, 3, 18, 26);
        foreach (bool transpose in new[] { false, true })
            foreach (long[] dims in new[] { Array.Empty<long>(), new long[] { 2 }, new long[] { 3 }, new long[] { 2, 3 } })
            {
                var x = transpose ? input.transpose(2, 3) : input;
                var y = network.forward(dims.Length == 0 ? x : x.flip(dims));
                y = dims.Length == 0 ? y : y.flip(dims);
                sum += transpose ? y.transpose(2, 3) : y;
            }

        var expected = sum / 8;
        var actual = upscaler.Forward(input);
        double error = MaxAbsDifference(actual, expected);
        output.WriteLine($"ESPCN x8 ensemble vs hand-written mean: {error:E2}; vs plain forward: {MaxAbsDifference(actual, network.forward(input)):E2}");
        Assert.True(error < 1e-5, $"differs by {error:E2}");
        Assert.Equal(8, SelfEnsemble.Transforms.Distinct().Count());
    }

    [Fact]
    public void LeavesASymmetricNetworkUnchanged()
    {
        // Float bicubic (TorchBicubic): a symmetric kernel, symmetric pixel mapping and clamped borders, separable:
        // equivariant under flips and transposition.
        using var network = Build(SrArchitecture.Bicubic, 3, SrPreset.Paper, SrChannels.Rgb);
        var upscaler = Ensemble(SrArchitecture.Bicubic, network);
        using var scope = NewDisposeScope();
        var input = Input(3, 10, 7);
        double error = MaxAbsDifference(upscaler.Forward(input), network.forward(input));
        output.WriteLine($"bicubic x3 ensemble vs plain: {error:E2}");
        Assert.True(error < 1e-5, $"differs by {error:E2}");
    }

    [Fact]
    public void TiledEnsembleEqualsWholeImageEnsemble()
    {
        using var network = Build(SrArchitecture.Espcn, 2, SrPreset.Notes, SrChannels.Rgb);
        var whole = Ensemble(SrArchitecture.Espcn, network);
        var tiled = Ensemble(SrArchitecture.Espcn, network, new SrInferenceOptions { TileSize = 8 });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Input(3, 19, 23);
        double error = MaxAbsDifference(tiled.Forward(input), whole.Forward(input));
        Assert.True(error < 1e-4, $"differs by {error:E2}");
    }
}
