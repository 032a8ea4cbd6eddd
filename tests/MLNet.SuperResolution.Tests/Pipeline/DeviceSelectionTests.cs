using Microsoft.ML;
using TorchSharp;

namespace MLNet.SuperResolution.Tests.Pipeline;

/// <summary>
/// Device = null follows the MLContext as ML.NET's TorchSharp trainers do: GpuDeviceId unset runs on the CPU; set, it
/// needs CUDA, or FallbackToCpu = true; a model saved without a device follows the context that loads it. (No GPU
/// here: the CUDA branch itself is not run.)
/// </summary>
public sealed class DeviceSelectionTests : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private static MLContext Strict() => new(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };

    [SkippableFact]
    public void GpuDeviceIdWithoutCuda_AndNoFallback_FailsWithWhatToChange()
    {
        Skip.If(torch.cuda.is_available(), "this machine has CUDA: the no-GPU message cannot be seen here");
        var ml = Strict();
        var error = Assert.Throws<InvalidOperationException>(() => ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2));
        Assert.Contains("MLContext.GpuDeviceId is 0 and MLContext.FallbackToCpu is false", error.Message);
        Assert.Contains("FallbackToCpu = true", error.Message);

        var data = TestImages.Paths(ml, [_images.Crop("chelsea.png", 24, 24)]);
        var training = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes"))
            .Append(ml.Transforms.SuperResolution(new SuperResolutionOptions { Architecture = SrArchitecture.Espcn, Scale = 2, Epochs = 1 }));
        Assert.Contains("GpuDeviceId is 0", Assert.Throws<InvalidOperationException>(() => training.Fit(data)).Message);
    }

    [Fact]
    public void NoDevice_FollowsTheContext_ANamedDevice_WinsOverIt()
    {
        Assert.Equal("cpu", new MLContext(seed: 1).Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2).Transformer.DeviceName);
        var fallback = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        string expected = torch.cuda.is_available() ? "cuda:0" : "cpu";
        Assert.Equal(expected, fallback.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2).Transformer.DeviceName);
        Assert.Equal("cpu", Strict().Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2, device: "cpu").Transformer.DeviceName);
    }

    [SkippableFact]
    public void AModelSavedWithoutADevice_FollowsTheLoadingContext()
    {
        Skip.If(torch.cuda.is_available(), "this machine has CUDA: the no-GPU message cannot be seen here");
        var ml = new MLContext(seed: 1);
        var data = TestImages.Paths(ml, [_images.Crop("chelsea.png", 16, 16)]);
        var load = ml.Transforms.LoadImages("LowRes", null, "Path");
        string follows = Path.Combine(_images.Directory, "follows.zip"), pinned = Path.Combine(_images.Directory, "pinned.zip");
        ml.Model.Save(load.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2)).Fit(data), data.Schema, follows);
        ml.Model.Save(load.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", scale: 2, device: "cpu")).Fit(data), data.Schema, pinned);

        var error = Assert.ThrowsAny<Exception>(() => Strict().Model.Load(follows, out _));
        Assert.Contains("MLContext.GpuDeviceId is 0", Flatten(error));
        Assert.NotNull(new MLContext(seed: 2).Model.Load(follows, out _));
        Assert.NotNull(Strict().Model.Load(pinned, out _)); // named at save: the context's setting does not apply
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);
}
