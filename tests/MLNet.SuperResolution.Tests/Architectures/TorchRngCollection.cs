namespace MLNet.SuperResolution.Tests.Architectures;

/// <summary>
/// Tests that seed torch's global generator and then compare what it drew. Run alone (not beside other test
/// classes), since any concurrent torch test would draw from the same global generator.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRngCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Torch global RNG";
}
