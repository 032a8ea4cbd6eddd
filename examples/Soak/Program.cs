using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

// Soak: COUNT upscales in one process through SuperResolutionUpscaler (PNG stream in, PNG stream out), then COUNT through
// the ML.NET transformer (LoadImages -> SuperResolution, a cursor over the output column), with a small network. Every
// EVERY upscales it prints RSS (VmRSS), the managed heap and TorchSharp's live tensor counts. After WARMUP upscales of a
// phase, nothing may grow: exit code 1 if RSS rises more than RSS_TOLERANCE_MB above its value at the end of the warm-up,
// or if either tensor count changes at all (every tensor of an upscale is disposed deterministically).
//
// Options: --count 1000  --every 100  --warmup 200  --arch Espcn  --preset Notes  --channels Y  --scale 2
//          --sizes 8 (distinct input sizes, cycled: 40x30, 48x30, ... in steps of 8 wide, then 6 high)  --rss-tolerance-mb 24
//          --phases both (or upscaler, transformer)
//
// Tensor counts: "live" is torch.Tensor.TotalCount (every Tensor object not yet disposed or finalized, all threads);
// "thread" is DisposeScopeManager.Statistics.ThreadTotalLiveCount (tensors created minus disposed on this thread, which
// runs every upscale: a tensor left to the garbage collector stays counted here even after its finalizer ran).
var options = Options.Parse(args);
string samples = Path.Combine(AppContext.BaseDirectory, "samples");
string work = Path.Combine(Path.GetTempPath(), "mlnet-sr-soak-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
Directory.CreateDirectory(work);
try
{
    return Run(options, samples, work);
}
finally
{
    Directory.Delete(work, recursive: true);
}

static int Run(Options options, string samples, string work)
{
    var ml = new MLContext(seed: 1);

    // The network: the preset's random initialisation after one training step (the weights' values do not change memory).
    var trainData = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = Path.Combine(samples, "astronaut.png") } });
    var lowHigh = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", options.Scale, "HighRes"))
        .Fit(trainData).Transform(trainData);
    using var model = ml.Transforms.SuperResolution(new SuperResolutionOptions
    {
        Architecture = options.Architecture, Preset = options.Preset, Channels = options.Channels, Scale = options.Scale,
        Epochs = 1, PatchesPerImage = 1, BatchSize = 1, PatchSize = 16 * options.Scale, LogEveryNSteps = 0,
    }).Fit(lowHigh);

    // Inputs: crops of a photo in options.Sizes sizes, as PNG bytes (upscaler) and PNG files (transformer).
    using var photo = Image.Load<Rgba32>(Path.Combine(samples, "chelsea.png"));
    var inputs = Enumerable.Range(0, options.Sizes).Select(i =>
    {
        int width = 40 + 8 * (i % 40), height = 30 + 6 * (i / 40); // 1,600 distinct sizes at most, within the photo
        using var crop = photo.Clone(x => x.Crop(new Rectangle(0, 0, width, height)));
        using var png = new MemoryStream();
        crop.SaveAsPng(png);
        string path = Path.Combine(work, $"input-{i}-{width}x{height}.png");
        File.WriteAllBytes(path, png.ToArray());
        return (Bytes: png.ToArray(), Path: path, Width: width, Height: height);
    }).ToArray();

    Console.WriteLine($"Soak: {model.Architecture} {options.Preset} x{model.Scale} {model.Channels}, {model.ParameterCount:N0} parameters; " +
                      $"{options.Count} upscales per phase of {options.Sizes} input sizes (40x30 upwards); samples every {options.Every}, " +
                      $"warm-up {options.Warmup}; tolerance after warm-up: RSS +{options.RssToleranceMb} MB, tensors +0. {Environment.ProcessorCount} cores.");
    Console.WriteLine($"{"phase",-12} {"upscales",8} {"RSS MB",8} {"managed MB",10} {"live",6} {"thread",6} {"ms/upscale",10}");

    bool ok = true;
    if (options.Phases != "transformer")
    {
        using var upscaler = SuperResolutionUpscaler.FromTransformer(model);
        var phase = new Phase("upscaler", options);
        for (int i = 0; i < options.Count; i++)
        {
            using var input = new MemoryStream(inputs[i % inputs.Length].Bytes, writable: false);
            using var output = new MemoryStream();
            upscaler.Upscale(input, output, SrImageFormat.Png);
            phase.Done(i + 1);
        }

        ok &= phase.Check();
    }

    if (options.Phases != "upscaler")
    {
        var phase = new Phase("transformer", options);
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, options.Count).Select(i => new PathRow { Path = inputs[i % inputs.Length].Path }));
        var upscaled = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(rows).Append(model).Transform(rows);
        using var cursor = upscaled.GetRowCursor(new[] { upscaled.Schema["SuperRes"] });
        var getter = cursor.GetGetter<MLImage>(upscaled.Schema["SuperRes"]);
        MLImage image = null!;
        int done = 0;
        while (cursor.MoveNext())
        {
            getter(ref image);
            var input = inputs[done % inputs.Length];
            if (image.Width != input.Width * model.Scale || image.Height != input.Height * model.Scale)
                throw new InvalidOperationException($"Row {done}: {image.Width}x{image.Height} from a {input.Width}x{input.Height} input.");
            image.Dispose();
            image = null!;
            phase.Done(++done);
        }

        ok &= phase.Check();
    }

    Console.WriteLine(ok ? "PASS: RSS and tensor counts flat after warm-up." : "FAIL: growth after warm-up (see above).");
    return ok ? 0 : 1;
}

/// <summary>One phase's samples and its growth check.</summary>
internal sealed class Phase
{
    private readonly string _name;
    private readonly Options _options;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<Sample> _samples = new();
    private TimeSpan _lastTime;

    public Phase(string name, Options options)
    {
        _name = name;
        _options = options;
    }

    private sealed record Sample(int Upscales, double RssMb, double ManagedMb, long Live, long Thread);

    /// <summary>Called after each upscale; samples every <see cref="Options.Every"/>.</summary>
    public void Done(int upscales)
    {
        if (upscales % _options.Every != 0)
            return;
        var elapsed = _clock.Elapsed;
        var sample = new Sample(upscales, RssMb(), GC.GetTotalMemory(forceFullCollection: false) / 1048576.0,
            torch.Tensor.TotalCount, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        _samples.Add(sample);
        double msPer = (elapsed - _lastTime).TotalMilliseconds / _options.Every;
        _lastTime = elapsed;
        Console.WriteLine($"{_name,-12} {sample.Upscales,8} {sample.RssMb,8:F1} {sample.ManagedMb,10:F1} {sample.Live,6} {sample.Thread,6} {msPer,10:F1}");
    }

    /// <summary>Growth after warm-up against the sample at the end of the warm-up; prints the verdict.</summary>
    public bool Check()
    {
        var baseline = _samples.LastOrDefault(s => s.Upscales <= _options.Warmup);
        var after = _samples.Where(s => s.Upscales > _options.Warmup).ToList();
        if (baseline is null || after.Count == 0)
        {
            Console.WriteLine($"{_name}: not enough samples after a warm-up of {_options.Warmup} to check growth.");
            return false;
        }

        double rssGrowth = Math.Round(after.Max(s => s.RssMb) - baseline.RssMb, 1);
        double rssEnd = Math.Round(after[^1].RssMb - baseline.RssMb, 1);
        long liveGrowth = after.Max(s => Math.Abs(s.Live - baseline.Live)), threadGrowth = after.Max(s => Math.Abs(s.Thread - baseline.Thread));
        bool ok = rssGrowth <= _options.RssToleranceMb && liveGrowth == 0 && threadGrowth == 0;
        Console.WriteLine($"{_name}: after warm-up ({baseline.Upscales} -> {after[^1].Upscales}): RSS max {rssGrowth:+0.0;-0.0;0.0} MB, end {rssEnd:+0.0;-0.0;0.0} MB " +
                          $"(tolerance +{_options.RssToleranceMb} MB); live tensors {baseline.Live} (max change {liveGrowth}), thread count {baseline.Thread} " +
                          $"(max change {threadGrowth}) -> {(ok ? "flat" : "GROWS")}. {_clock.Elapsed.TotalSeconds:F1} s.");
        return ok;
    }

    private static double RssMb()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}

/// <summary>Command-line options (see the top of the file).</summary>
internal sealed record Options(int Count, int Every, int Warmup, SrArchitecture Architecture, SrPreset Preset, SrChannels Channels, int Scale,
    int Sizes, double RssToleranceMb, string Phases)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"Expected '--option value' pairs; got '{args[i]}'. Options: --count --every --warmup --arch --preset --channels --scale --sizes --rss-tolerance-mb --phases.");
            values[args[i][2..]] = args[i + 1];
        }

        string Get(string name, string fallback) => values.TryGetValue(name, out var value) ? value : fallback;
        var options = new Options(
            int.Parse(Get("count", "1000"), CultureInfo.InvariantCulture),
            int.Parse(Get("every", "100"), CultureInfo.InvariantCulture),
            int.Parse(Get("warmup", "200"), CultureInfo.InvariantCulture),
            Enum.Parse<SrArchitecture>(Get("arch", "Espcn"), ignoreCase: true),
            Enum.Parse<SrPreset>(Get("preset", "Notes"), ignoreCase: true),
            Enum.Parse<SrChannels>(Get("channels", "Y"), ignoreCase: true),
            int.Parse(Get("scale", "2"), CultureInfo.InvariantCulture),
            int.Parse(Get("sizes", "8"), CultureInfo.InvariantCulture),
            double.Parse(Get("rss-tolerance-mb", "24"), CultureInfo.InvariantCulture),
            Get("phases", "both").ToLowerInvariant());
        if (options.Count <= 0 || options.Every <= 0 || options.Warmup < options.Every || options.Warmup >= options.Count || options.Sizes is < 1 or > 1600
            || options.Phases is not ("both" or "upscaler" or "transformer"))
            throw new ArgumentException("Need --count > --warmup >= --every > 0, --sizes from 1 to 1600 and --phases both, upscaler or transformer.");
        return options;
    }
}
