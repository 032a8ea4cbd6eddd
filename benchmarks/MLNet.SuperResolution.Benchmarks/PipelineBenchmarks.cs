using BenchmarkDotNet.Attributes;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// The ML.NET component against the bare network: <c>Transform</c> plus reading the output column of 8 in-memory
/// 256x256 LR images, and the raw forward on the same images' tensors (the baseline). The ratio is the pipeline's
/// overhead; the goal is a few percent.
/// </summary>
[Config(typeof(ShortJobConfig))]
public class PipelineBenchmarks
{
    private PipelineBench? _bench;

    /// <summary>Network, preset, channels and scale.</summary>
    [Params("Espcn-Notes-RGB-x2", "Espcn-Paper-Y-x2")]
    public string Case { get; set; } = "Espcn-Notes-RGB-x2";

    /// <summary>Images per measured run.</summary>
    [Params(8)]
    public int Images { get; set; }

    /// <summary>Cuts the crops and builds the transformer.</summary>
    [GlobalSetup]
    public void Setup()
    {
        ShortJobConfig.ApplyThreads();
        _bench = new PipelineBench(BenchCase.Parse(Case), Images);
    }

    /// <summary>Transform + read every output image.</summary>
    [Benchmark]
    public void TransformAndRead() => _bench!.RunPipeline();

    /// <summary>The network alone on the same tensors.</summary>
    [Benchmark(Baseline = true)]
    public void RawForward() => _bench!.RunRawForward();

    /// <summary>Frees the transformer and the images.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bench?.Dispose();
}
