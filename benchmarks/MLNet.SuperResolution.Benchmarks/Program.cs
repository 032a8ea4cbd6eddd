using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/MLNet.SuperResolution.Benchmarks -- --filter '*Forward*'
// (see benchmarks/README.md). BenchmarkDotNet's own options (--list flat, --job, ...) work as usual.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
