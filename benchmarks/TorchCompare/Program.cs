// TorchCompare: the TorchSharp side of build/compare-pytorch.sh. Commands (all take --threads N, default 2):
//   list                                   the compared case names, one a line
//   ceiling  --out FILE [--reps 10]        a 2048^2 float32 matmul and a 3x3 64->64 conv on 256^2 through libtorch (GFLOP/s)
//   network  --case NAME --dir DIR [--reps 10] [--warmup 2] [--train-reps 10]
//            exports the case's random-initialised weights (DIR/NAME.pth), its inputs and our outputs (raw float32),
//            times forward and one training step (as SrTrainer takes it, on the CPU inside NativeHeap.EnterTraining),
//            and writes DIR/NAME.json for build/compare_pytorch.py
//   pipeline --case NAME --out FILE [--images 8] [--size 256] [--reps 10] [--warmup 2]
//            ML.NET Transform + read of N images vs the raw forward on the same tensors
//   pipeline-parts --case NAME [--images 8] [--reps 10] [--warmup 2] [--prefer-reuse 1]
//            the pipeline's cost per image and part, interleaved with the raw forward (medians); `pipeline` takes
//            --blocks 1 (all pipeline repetitions, then all raw ones). Every command takes --prefer-reuse 1: glibc's
//            heap thresholds fixed first (NativeHeap.PreferReuse)
//   probe    --case NAME [--size LR] [--mode forward|train|train-parts] [--reps 10] [--warmup 2] [--channels-last 1]
//            [--dtype bf16] [--optimizer torchsharp] [--device cuda (train-parts)] [--channel-padding auto|on|off]
//            times only the forward (or the training
//            step) and prints every repetition: for comparing
//            fresh processes (ONEDNN_VERBOSE=1 shows each primitive's kernel and time); --channels-last 1 gives the
//            forward's input (or the training batch) NHWC strides; --channel-padding forces the oneDNN workaround
//            layers' padding on or off (default: where the CPU has AVX-512)
//   network  also times the forward on a channels-last input (forward_cl_ms), as SrUpscaler runs CPU inference
//   ceiling and network take --device cuda (a CUDA libtorch backend): the network, its inputs and the training batch
//            on the GPU, each timed repetition ending with cuda.synchronize (compare_pytorch.py follows the manifest)
//   device-check [--device cuda] [--dir DIR]  every architecture and the public pipeline on the device against the CPU
//            (DeviceCheck.cs); the exit code is the number of failed checks
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Benchmarks;
using MLNet.SuperResolution.Weights;
using TorchSharp;
using static TorchSharp.torch;

var options = Options.Parse(args.Skip(1));
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: TorchCompare list|ceiling|network|pipeline [--options]; see Program.cs");
    return 2;
}

set_num_threads(options.Int("threads", 2));
if (options.Int("prefer-reuse", 0) != 0) // any command: glibc's heap thresholds fixed first, as the sr tool does
    Console.WriteLine($"NativeHeap.PreferReuse: {MLNet.SuperResolution.Inference.NativeHeap.PreferReuse()}");
switch (args[0])
{
    case "list":
        foreach (var c in BenchCase.CompareSet)
            Console.WriteLine(c.Name);
        return 0;
    case "list-pipeline":
        foreach (var c in BenchCase.PipelineSet)
            Console.WriteLine(c.Name);
        return 0;
    case "ceiling":
        Ceiling(options);
        return 0;
    case "network":
        Network(options);
        return 0;
    case "pipeline":
        Pipeline(options);
        return 0;
    case "probe":
        Probe(options);
        return 0;
    case "pipeline-parts":
        PipelineParts(options);
        return 0;
    case "device-check":
        return MLNet.SuperResolution.Benchmarks.DeviceCheck.Run(options.String("device", "cuda"), options.String("dir", Path.Combine("artifacts", "device-check")));
    default:
        Console.Error.WriteLine($"Unknown command '{args[0]}'.");
        return 2;
}

static void Ceiling(Options options)
{
    int reps = options.Int("reps", 10);
    var device = MLNet.SuperResolution.Inference.TorchDevices.Parse(options.String("device", "cpu"));
    int n = device.type == DeviceType.CPU ? 2048 : 8192;
    using var a = Measure.Random(1, n, n).to(device);
    using var b = Measure.Random(2, n, n).to(device);
    var matmulMs = Measure.Time(() => { using var c = a.matmul(b); Measure.Synchronize(device); }, warmup: 3, reps);
    double matmulGflops = 2.0 * n * n * n / (Measure.Median(matmulMs) * 1e6);

    using var x = Measure.Random(3, 1, 64, 256, 256).to(device);
    using var conv = nn.Conv2d(64, 64, 3, padding: 1);
    conv.to(device).eval();
    var convMs = Measure.Time(() =>
    {
        using var noGrad = no_grad();
        using var y = conv.forward(x);
        Measure.Synchronize(device);
    }, warmup: 3, reps);
    double convGflops = 2.0 * 64 * 9 * 64 * 256 * 256 / (Measure.Median(convMs) * 1e6);

    var result = new Dictionary<string, object>
    {
        ["threads"] = get_num_threads(),
        ["device"] = device.ToString(),
        ["matmul_n"] = n,
        ["matmul_ms"] = matmulMs,
        ["matmul_gflops"] = matmulGflops,
        ["conv3x3_64_256_ms"] = convMs,
        ["conv3x3_64_256_gflops"] = convGflops,
    };
    File.WriteAllText(options.Required("out"), JsonSerializer.Serialize(result));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"ceiling ({(device.type == DeviceType.CPU ? $"{get_num_threads()} threads" : device.ToString())}): matmul {n}^2 {matmulGflops:F1} GFLOP/s, conv 3x3 64->64 on 256^2 {convGflops:F1} GFLOP/s"));
}

static void Network(Options options)
{
    var benchCase = BenchCase.Parse(options.Required("case"));
    string dir = options.Required("dir");
    int reps = options.Int("reps", 10), warmup = options.Int("warmup", 2), trainReps = options.Int("train-reps", reps);
    string deviceName = options.String("device", "cpu");
    var device = MLNet.SuperResolution.Inference.TorchDevices.Parse(deviceName);
    Directory.CreateDirectory(dir);
    string name = benchCase.Name, c = benchCase.ChannelCount.ToString(CultureInfo.InvariantCulture);
    int s = benchCase.Scale, lr = benchCase.LowResSize;
    const int batch = 16, hrPatch = 48;
    if (hrPatch % s != 0)
        throw new ArgumentException($"The {hrPatch}-pixel HR patch is not a multiple of scale {s}.");

    using var network = benchCase.Build(seed: 1);
    network.eval();
    string weights = Path.GetFullPath(Path.Combine(dir, name + ".pth"));
    PyTorchWeights.Save(network, weights);

    var manifest = new Dictionary<string, object>
    {
        ["case"] = name,
        ["architecture"] = benchCase.Architecture.ToString(),
        ["preset"] = benchCase.Preset.ToString(),
        ["channels"] = benchCase.ChannelCount,
        ["scale"] = s,
        ["lr_size"] = lr,
        ["threads"] = get_num_threads(),
        ["parameters"] = network.TrainableParameterCount,
        ["weights"] = weights,
        ["batch"] = batch,
        ["hr_patch"] = hrPatch,
        ["device"] = deviceName,
    };

    using var input = Measure.Random(11, 1, benchCase.ChannelCount, lr, lr).to(device);
    using var probe = Measure.Random(12, 1, benchCase.ChannelCount, 40, 44).to(device);
    using var trainLowRes = Measure.Random(13, batch, benchCase.ChannelCount, hrPatch / s, hrPatch / s).to(device);
    using var trainHighRes = Measure.Random(14, batch, benchCase.ChannelCount, hrPatch, hrPatch).to(device);
    Raw.Write(manifest, dir, name, "input", input);
    Raw.Write(manifest, dir, name, "probe_input", probe);
    Raw.Write(manifest, dir, name, "train_lr", trainLowRes);
    Raw.Write(manifest, dir, name, "train_hr", trainHighRes);
    network.to(device);
    using (var noGrad = no_grad())
    {
        using var output = network.forward(input);
        using var probeOutput = network.forward(probe);
        Raw.Write(manifest, dir, name, "output", output);
        Raw.Write(manifest, dir, name, "probe_output", probeOutput);
    }

    long faults = MinorFaults();
    var forwardMs = Measure.Time(() => { Measure.Forward(network, input); Measure.Synchronize(device); }, warmup, reps);
    faults = (MinorFaults() - faults) / (warmup + reps);
    manifest["forward_ms"] = forwardMs;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name}: forward {lr}x{lr} x{s} median {Measure.Median(forwardMs):F1} ms ({reps} reps, {faults} minor page faults per forward)"));

    // The same forward on a channels-last (NHWC strides) input: the layout SrUpscaler runs CPU inference in by default.
    using (var channelsLast = MemoryLayout.ToChannelsLast(input))
    {
        var channelsLastMs = Measure.Time(() => { Measure.Forward(network, channelsLast); Measure.Synchronize(device); }, warmup, reps);
        manifest["forward_cl_ms"] = channelsLastMs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: forward channels-last median {Measure.Median(channelsLastMs):F1} ms ({reps} reps)"));
    }

    using var step = new TrainStep(network);
    var losses = new List<float>();
    var trainMs = Measure.Time(() => losses.Add(step.Run(trainLowRes, trainHighRes)), warmup, trainReps); // item() synchronizes
    manifest["train_loss0"] = losses[0];
    manifest["train_ms"] = trainMs;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name}: train step batch {batch} HR {hrPatch}x{hrPatch} median {Measure.Median(trainMs):F1} ms ({trainReps} reps), first loss {losses[0]:F6}"));

    File.WriteAllText(Path.Combine(dir, name + ".json"), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
}

static void Probe(Options options)
{
    var benchCase = BenchCase.Parse(options.Required("case"));
    int size = options.Int("size", benchCase.LowResSize);
    int reps = options.Int("reps", 10), warmup = options.Int("warmup", 2);
    string mode = options.String("mode", "forward");
    using var padding = options.String("channel-padding", "auto") switch // the oneDNN workaround layers (OneDnnWorkarounds)
    {
        "auto" => null,
        "on" => OneDnnWorkarounds.Force(true),
        "off" => OneDnnWorkarounds.Force(false),
        var other => throw new ArgumentException($"--channel-padding takes auto, on or off, not '{other}'."),
    };
    using var network = benchCase.Build(seed: 1);
    double[] ms;
    if (mode == "forward")
    {
        // --dtype bf16: weights and input in bfloat16; --channels-last 1: the input in NHWC (oneDNN follows it).
        network.eval();
        var dtype = options.String("dtype", "f32") == "bf16" ? bfloat16 : float32;
        bool channelsLast = options.Int("channels-last", 0) != 0;
        if (dtype != float32)
            network.to(dtype);
        using var input0 = Measure.Random(11, 1, benchCase.ChannelCount, size, size);
        using var input1 = input0.to(dtype);
        using var input = channelsLast ? MemoryLayout.ToChannelsLast(input1) : input1.alias(); // NCHW shape, NHWC strides
        ms = Measure.Time(() => Measure.Forward(network, input), warmup, reps);
        using (no_grad())
        {
            using var reference = benchCase.Build(seed: 1);
            reference.eval();
            using var expected = reference.forward(input0);
            using var actual = network.forward(input);
            using var diff = (actual.to(float32) - expected).abs().max();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"max |out - float32 NCHW out| = {diff.item<float>():E2}"));
        }
    }
    else if (mode == "train")
    {
        const int batch = 16, hrPatch = 48;
        using var lowRes = Measure.Random(13, batch, benchCase.ChannelCount, hrPatch / benchCase.Scale, hrPatch / benchCase.Scale);
        using var highRes = Measure.Random(14, batch, benchCase.ChannelCount, hrPatch, hrPatch);
        bool channelsLast = options.Int("channels-last", 0) != 0; // --channels-last 1: the batch in NHWC strides
        using var lowResIn = channelsLast ? MemoryLayout.ToChannelsLast(lowRes) : lowRes.alias();
        using var step = new TrainStep(network, torchSharpAdam: options.String("optimizer", "multi") == "torchsharp");
        ms = Measure.Time(() => step.Run(lowResIn, highRes), warmup, reps);
    }
    else if (mode == "train-parts")
    {
        // The training step's parts, each timed on its own (zero_grad, forward + loss, backward, Adam step).
        const int batch = 16, hrPatch = 48;
        using var lowRes = Measure.Random(13, batch, benchCase.ChannelCount, hrPatch / benchCase.Scale, hrPatch / benchCase.Scale);
        using var highRes = Measure.Random(14, batch, benchCase.ChannelCount, hrPatch, hrPatch);
        network.train();
        var device = MLNet.SuperResolution.Inference.TorchDevices.Parse(options.String("device", "cpu"));
        network.to(device);
        using var lowResOnDevice = lowRes.to(device);
        using var highResOnDevice = highRes.to(device);
        var trainable = network.parameters().Where(p => p.requires_grad);
        using var heap = MLNet.SuperResolution.Inference.NativeHeap.EnterTraining(device.type); // as SrTrainer
        using optim.Optimizer adam = options.String("optimizer", "multi") == "torchsharp" // --optimizer torchsharp: TorchSharp's Adam
            ? new TorchSharp.Modules.Adam(trainable, 1e-4, 0.9, 0.999)
            : new MLNet.SuperResolution.Training.MultiTensor.Adam(trainable, 1e-4, 0.9, 0.999);
        var parts = new double[4][];
        for (int i = 0; i < 4; i++)
            parts[i] = new double[reps];
        for (int r = -warmup; r < reps; r++)
        {
            using var scope = NewDisposeScope();
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            adam.zero_grad();
            Measure.Synchronize(device);
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var loss = network.TrainingLoss(lowResOnDevice, highResOnDevice, (o, t) => nn.functional.l1_loss(o, t));
            Measure.Synchronize(device);
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            loss.backward();
            Measure.Synchronize(device);
            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            adam.step();
            Measure.Synchronize(device);
            long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
            if (r < 0)
                continue;
            long[] marks = [t0, t1, t2, t3, t4];
            for (int i = 0; i < 4; i++)
                parts[i][r] = System.Diagnostics.Stopwatch.GetElapsedTime(marks[i], marks[i + 1]).TotalMilliseconds;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{benchCase.Name} train parts (median ms): zero_grad {Measure.Median(parts[0]):F2}, forward+loss {Measure.Median(parts[1]):F2}, backward {Measure.Median(parts[2]):F2}, step {Measure.Median(parts[3]):F2}"));
        return;
    }
    else
    {
        throw new ArgumentException($"--mode is forward, train or train-parts, not '{mode}'.");
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{benchCase.Name} {mode} {size}x{size}: median {Measure.Median(ms):F2} ms; each: {string.Join(' ', ms.Select(m => m.ToString("F1", CultureInfo.InvariantCulture)))}"));
}

static void Pipeline(Options options)
{
    var benchCase = BenchCase.Parse(options.Required("case"));
    int images = options.Int("images", 8), size = options.Int("size", BenchCase.DefaultLowResSize);
    int reps = options.Int("reps", 10), warmup = options.Int("warmup", 2);
    using var bench = new PipelineBench(benchCase, images, size);

    // Interleaved by default, so that a change of machine load hits both alike; --blocks 1 runs all pipeline
    // repetitions, then all raw ones (as BenchmarkDotNet does). Page faults, GCs and allocations are recorded per repetition.
    bool blocks = options.Int("blocks", 0) != 0;
    var pipelineMs = new List<double>();
    var rawMs = new List<double>();
    var pipelineFaults = new List<long>();
    var rawFaults = new List<long>();
    var pipelineGcs = new List<string>();
    void TimeRaw()
    {
        long before = MinorFaults();
        rawMs.AddRange(Measure.Time(bench.RunRawForward, 0, 1));
        rawFaults.Add(MinorFaults() - before);
    }

    for (int i = 0; i < warmup; i++)
    {
        bench.RunPipeline();
        if (!blocks)
            bench.RunRawForward();
    }

    for (int i = 0; i < reps; i++)
    {
        long before = MinorFaults();
        int gen2 = GC.CollectionCount(2), gen1 = GC.CollectionCount(1), gen0 = GC.CollectionCount(0);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        pipelineMs.AddRange(Measure.Time(bench.RunPipeline, 0, 1));
        pipelineFaults.Add(MinorFaults() - before);
        pipelineGcs.Add($"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024} KB");
        if (!blocks)
            TimeRaw();
    }

    if (blocks)
    {
        for (int i = 0; i < warmup; i++)
            bench.RunRawForward();
        for (int i = 0; i < reps; i++)
            TimeRaw();
    }

    Console.WriteLine($"minor page faults per repetition: pipeline {pipelineFaults.Sum() / reps}, raw forward {rawFaults.Sum() / reps}");

    var result = new Dictionary<string, object>
    {
        ["case"] = benchCase.Name,
        ["images"] = images,
        ["size"] = size,
        ["threads"] = get_num_threads(),
        ["pipeline_ms"] = pipelineMs,
        ["raw_forward_ms"] = rawMs,
        ["pipeline_minor_faults"] = pipelineFaults,
        ["pipeline_gc_gen0_gen1_gen2"] = pipelineGcs,
        ["raw_forward_minor_faults"] = rawFaults,
    };
    File.WriteAllText(options.Required("out"), JsonSerializer.Serialize(result));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{benchCase.Name}: pipeline {images} x {size}^2 median {Measure.Median(pipelineMs):F1} ms, raw forward {Measure.Median(rawMs):F1} ms"));
}

static void PipelineParts(Options options)
{
    var benchCase = BenchCase.Parse(options.Required("case"));
    int images = options.Int("images", 8), reps = options.Int("reps", 10), warmup = options.Int("warmup", 2);
    using var bench = new PipelineBench(benchCase, images);
    var parts = bench.TimeParts(warmup, reps);
    foreach (var (name, ms) in parts)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{benchCase.Name} {name,-28} median {Measure.Median(ms):F3} ms per image"));
}

/// <summary>This process's minor page faults so far (Linux; 0 elsewhere): field 10 of /proc/self/stat.</summary>
static long MinorFaults()
{
    if (!File.Exists("/proc/self/stat"))
        return 0;
    string stat = File.ReadAllText("/proc/self/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(fields[7], CultureInfo.InvariantCulture); // fields after the command: state is field 3, minflt field 10
}

/// <summary>Raw little-endian float32 files, named in the manifest with their shapes.</summary>
internal static class Raw
{
    public static void Write(Dictionary<string, object> manifest, string dir, string name, string key, Tensor tensor)
    {
        string path = Path.GetFullPath(Path.Combine(dir, $"{name}.{key}.f32"));
        using var contiguous = tensor.to(float32).cpu().contiguous();
        var values = contiguous.data<float>().ToArray();
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        manifest[key] = path;
        manifest[key + "_shape"] = tensor.shape;
    }
}

/// <summary>--name value pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(IEnumerable<string> args)
    {
        var result = new Options();
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= list.Count)
                throw new ArgumentException($"Expected --name value pairs, got '{list[i]}'.");
            result._values[list[i][2..]] = list[++i];
        }

        return result;
    }

    public int Int(string name, int fallback)
        => _values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public string String(string name, string fallback) => _values.TryGetValue(name, out var text) ? text : fallback;

    public string Required(string name)
        => _values.TryGetValue(name, out var text) ? text : throw new ArgumentException($"--{name} is required.");
}
