using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Metrics;
using MLNet.SuperResolution.Tests.Imaging;
using Xunit.Abstractions;

namespace MLNet.SuperResolution.Tests.Metrics;

/// <summary>The protocol end to end: the bicubic baseline on Set5 must reproduce docs/protocol.md's reference table.</summary>
public sealed class BicubicBaselineTests
{
    private readonly ITestOutputHelper _output;

    public BicubicBaselineTests(ITestOutputHelper output) => _output = output;

    [SkippableTheory]
    [InlineData(2, 33.674, 0.9303)]
    [InlineData(3, 30.405, 0.8689)]
    [InlineData(4, 28.430, 0.8111)]
    public void Set5Bicubic_MatchesTheReferenceFigures(int scale, double referencePsnr, double referenceSsim)
    {
        var pairs = BenchmarkImages.Pairs("Set5", scale);
        var (matlabPsnr, matlabSsim) = Mean(pairs.Select(p => ImageQuality.Compare(MatlabImresize.Upscale(p.Lr, scale), p.Hr, scale)));
        var (oursPsnr, oursSsim) = Mean(pairs.Select(p =>
            ImageQuality.Compare(MatlabImresize.Upscale(MatlabImresize.Downscale(p.Hr, scale), scale), p.Hr, scale)));
        _output.WriteLine($"Set5 x{scale} bicubic, MATLAB LR: {matlabPsnr:F4} dB / {matlabSsim:F5}; our LR: {oursPsnr:F4} dB / {oursSsim:F5}; reference {referencePsnr} / {referenceSsim}");

        Assert.Equal(referencePsnr, matlabPsnr, 0.01);
        Assert.Equal(referenceSsim, matlabSsim, 0.0005);
        Assert.Equal(referencePsnr, oursPsnr, 0.01);
        Assert.Equal(referenceSsim, oursSsim, 0.0005);
    }

    private static (double Psnr, double Ssim) Mean(IEnumerable<(double Psnr, double Ssim)> scores)
    {
        var list = scores.ToList();
        return (list.Average(s => s.Psnr), list.Average(s => s.Ssim));
    }
}
