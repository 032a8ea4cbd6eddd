namespace MLNet.SuperResolution;

/// <summary>placeholder</summary>
public static class Placeholder
{
    /// <summary>probe</summary>
    public static string Probe()
    {
        var v = new Microsoft.ML.VersionInfo("ABCDEFGH", 0x00010001, 0x00010001, 0x00010001, "x", "y");
        using var t = TorchSharp.torch.ones(3);
        return $"{v.ModelSignature} {t.sum().item<float>()}";
    }
}
