using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>Parameter-free bilinear upsampling by an integer factor (a module, to sit in a Sequential).</summary>
internal sealed class BilinearUpsample : nn.Module<Tensor, Tensor>
{
    private readonly int _scale;

    public BilinearUpsample(int scale) : base(nameof(BilinearUpsample))
    {
        _scale = scale;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => PreUpsampling.Apply(input, _scale, SrPreUpsampling.Bilinear);
}
