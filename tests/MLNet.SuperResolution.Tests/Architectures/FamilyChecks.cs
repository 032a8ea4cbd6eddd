using MLNet.SuperResolution.Architectures;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>Checks every family test class makes of its networks: supported scales, parameter counts, notes-preset shapes.</summary>
internal static class FamilyChecks
{
    /// <summary>Every (architecture, supported scale) of a family, for MemberData.</summary>
    public static TheoryData<SrArchitecture, int> Scales(params SrArchitecture[] family)
    {
        var data = new TheoryData<SrArchitecture, int>();
        foreach (var architecture in family)
        foreach (int scale in NetworkFactory.SupportedScales(architecture))
            data.Add(architecture, scale);
        return data;
    }

    /// <summary>
    /// The paper preset's trainable parameters equal <paramref name="computed"/> exactly (our arithmetic from the
    /// reference's layer shapes) and lie within 1% of the <paramref name="reference"/>'s count.
    /// </summary>
    public static void PaperParameterCount(ITestOutputHelper output, SrArchitecture architecture, int scale, int channels, long computed, long reference)
    {
        using var network = NetworkFactory.Create(architecture, scale, channels);
        long ours = network.TrainableParameterCount;
        output.WriteLine($"{architecture} x{scale}: ours {ours:N0}, reference {reference:N0} ({100.0 * (ours - reference) / reference:+0.000;-0.000}%)");
        Assert.Equal(computed, ours);
        Assert.True(Math.Abs(ours - reference) <= 0.01 * reference, $"{architecture} x{scale}: {ours:N0} is not within 1% of {reference:N0}");
    }

    /// <summary>The notes preset maps a [2, C, h, w] batch to finite [2, C, h*scale, w*scale] for Y and RGB.</summary>
    public static void NotesForwardShapes(SrArchitecture architecture, int scale, int height, int width, int seed)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(seed);
        foreach (int channels in new[] { 1, 3 })
        {
            var options = NetworkFactory.Describe(architecture).Options(SrPreset.Notes);
            using var network = NetworkFactory.Create(architecture, scale, channels, options);
            network.eval();
            using var _ = no_grad();
            var result = network.forward(rand(2, channels, height, width));
            Assert.Equal(new long[] { 2, channels, height * scale, width * scale }, result.shape);
            Assert.True(result.isfinite().all().item<bool>());
        }
    }
}
