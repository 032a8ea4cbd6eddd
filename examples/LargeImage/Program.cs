using System.Diagnostics;
using Microsoft.ML;
using MLNet.SuperResolution;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

// Peak memory (VmHWM) and time of upscaling one large photo with the public upscaler.
// Arguments: ARCH PRESET SCALE WIDTH HEIGHT MODE, e.g. EdsrBaseline Paper 4 4000 3000 tiled  (MODE: tiled | whole);
// ARCH "Default" is the model embedded in the library (SrDefaultModel; PRESET is ignored).
// Otherwise the network's weights come from one training step (their values do not change time or memory).
// SR_TRACE=1 also prints the resident memory every second while upscaling (how the memory notes were measured).
bool useDefault = args.Length > 0 && args[0].Equals("Default", StringComparison.OrdinalIgnoreCase);
var architecture = useDefault ? SrDefaultModel.Architecture : Enum.Parse<SrArchitecture>(args.Length > 0 ? args[0] : "EdsrBaseline", ignoreCase: true);
var preset = Enum.Parse<SrPreset>(args.Length > 1 ? args[1] : "Paper", ignoreCase: true);
int scale = args.Length > 2 ? int.Parse(args[2]) : 4;
int width = args.Length > 3 ? int.Parse(args[3]) : 4000, height = args.Length > 4 ? int.Parse(args[4]) : 3000;
bool whole = args.Length > 5 && args[5] == "whole";

string samples = Path.Combine(AppContext.BaseDirectory, "samples");
var inference = new SrInferenceOptions { MaxUntiledPixels = whole ? long.MaxValue : 512 * 512 };
using var upscaler = useDefault ? SuperResolutionUpscaler.FromDefaultModel(scale, inference) : TrainedOneStep();
string name = useDefault ? "Default" : $"{architecture} {preset}";

using var photo = Image.Load<Rgba32>(Path.Combine(samples, "astronaut.png"));
photo.Mutate(x => x.Resize(width, height, KnownResamplers.Bicubic));
Console.WriteLine($"{name} x{scale}: {width}x{height} -> {width * scale}x{height * scale}, {(whole ? "whole image" : "tiled")}, " +
                  $"{Environment.ProcessorCount} cores; peak RSS before: {PeakRssMb()} MB");
var clock = Stopwatch.StartNew();
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
if (Environment.GetEnvironmentVariable("SR_TRACE") == "1")
{
    new Thread(() =>
    {
        while (true)
        {
            Thread.Sleep(1000);
            Console.Error.WriteLine($"TRACE {clock.Elapsed.TotalSeconds:F0} s rss {RssMb()} MB");
        }
    }) { IsBackground = true }.Start();
}
using var result = upscaler.Upscale(photo);
clock.Stop();
var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore; // all cores; with other load on the machine a steadier figure than the wall time
Console.WriteLine($"RESULT {name} x{scale} {width}x{height} {(whole ? "whole" : "tiled")}: {clock.Elapsed.TotalSeconds:F1} s ({cpu.TotalSeconds:F0} s CPU), " +
                  $"output {result.Width}x{result.Height}, peak RSS {PeakRssMb()} MB");

SuperResolutionUpscaler TrainedOneStep()
{
    var ml = new MLContext(seed: 1);
    var data = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = Path.Combine(samples, "astronaut.png") } });
    var lowRes = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes")).Fit(data).Transform(data);
    var model = ml.Transforms.SuperResolution(new SuperResolutionOptions
    {
        Architecture = architecture, Preset = preset, Scale = scale, Epochs = 1, PatchesPerImage = 1, BatchSize = 1, PatchSize = 16 * scale, LogEveryNSteps = 0,
    }).Fit(lowRes);
    return SuperResolutionUpscaler.FromTransformer(model, inference);
}

static long RssMb()
{
    string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
}

static long PeakRssMb()
{
    string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
}
