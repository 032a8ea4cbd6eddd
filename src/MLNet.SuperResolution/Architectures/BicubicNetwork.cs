using MLNet.SuperResolution.Imaging;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures;

/// <summary>
/// The bicubic baseline as a network: MATLAB <c>imresize</c> bicubic upscaling (<see cref="TorchBicubic"/>), no
/// parameters. It is the "Bicubic" row of every SR table (e.g. Dong et al., TPAMI 2016, Table 2) and lets the
/// bicubic baseline go through the same pipeline as the learnt networks. Has no state_dict keys.
/// </summary>
internal sealed class BicubicNetwork : SrNetwork
{
    /// <summary>Builds the bicubic baseline for <paramref name="scale"/> and <paramref name="channels"/>.</summary>
    public BicubicNetwork(int scale, int channels) : base(nameof(BicubicNetwork), scale, channels)
    {
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => TorchBicubic.Upscale(input, Scale);
}

/// <summary>Bicubic has no hyper-parameters.</summary>
public sealed record BicubicOptions : SrNetworkOptions
{
    /// <inheritdoc />
    public override SrArchitecture Architecture => SrArchitecture.Bicubic;
}

internal sealed class BicubicDescriptor : SrNetworkDescriptor<BicubicOptions>
{
    public override SrArchitecture Architecture => SrArchitecture.Bicubic;
    public override string Citation => "MATLAB imresize(x, s, 'bicubic'), Keys' cubic convolution (a = -0.5)";
    public override string Reference => "MATLAB imresize.m (no weights)";
    public override IReadOnlyList<int> Scales { get; } = [2, 3, 4, 8];
    public override SrChannels PaperChannels => SrChannels.Rgb;
    protected override BicubicOptions Paper { get; } = new();
    protected override BicubicOptions Notes { get; } = new();
    protected override SrNetwork Create(BicubicOptions options, int scale, int channels) => new BicubicNetwork(scale, channels);
}
