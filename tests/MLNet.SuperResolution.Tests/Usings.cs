global using Xunit;
global using Xunit.Abstractions;

// Torch-heavy tests share libtorch's global state (seed, threads) and 2 cores: run test classes one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
