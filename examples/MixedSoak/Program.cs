using System.Diagnostics;
using MLNet.SuperResolution;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

// MixedSoak: THREADS threads share six upscalers, as a service that hosts several models does, and serve REQUESTS
// requests (PNG, JPEG or GIF bytes in, PNG bytes out) in rounds of 100. Before that every (upscaler, image) pair is
// upscaled once, alone, on this thread: the reference. Checked: every concurrent output equals its reference byte for
// byte (no cross-talk between models, options or threads); between rounds, when no request is in flight, RSS stays
// within RSS_TOLERANCE_MB of its value after the warm-up rounds and TorchSharp's live tensor count does not change.
//   dotnet run -c Release --project examples/MixedSoak -- [REQUESTS=1000] [THREADS=4] [WARMUP_ROUNDS=2] [RSS_TOLERANCE_MB=32]
int requests = args.Length > 0 ? int.Parse(args[0]) : 1000;
int threads = args.Length > 1 ? int.Parse(args[1]) : 4;
int warmupRounds = args.Length > 2 ? int.Parse(args[2]) : 2;
long toleranceMb = args.Length > 3 ? long.Parse(args[3]) : 32;
const int Round = 100;

string samples = Path.Combine(AppContext.BaseDirectory, "samples"), models = Path.Combine(AppContext.BaseDirectory, "models");
var untiled = new SrInferenceOptions { MaxUntiledPixels = 1 << 20 };
var tiled = new SrInferenceOptions { TileSize = 16 };
var upscalers = new (string Name, SuperResolutionUpscaler Upscaler)[]
{
    ("default x2", SuperResolutionUpscaler.FromDefaultModel(2, untiled)),
    ("default x2 tiled", SuperResolutionUpscaler.FromDefaultModel(2, tiled)),
    ("compact x4", SuperResolutionUpscaler.FromModelFile(Path.Combine(models, "compact-x4.pth"), untiled)),
    ("compact x4 tiled", SuperResolutionUpscaler.FromModelFile(Path.Combine(models, "compact-x4.pth"), tiled)),
    ("esrgan x4", SuperResolutionUpscaler.FromModelFile(Path.Combine(models, "esrgan-basicsr-x4.pth"), untiled)),
    ("esrgan x4 tiled", SuperResolutionUpscaler.FromModelFile(Path.Combine(models, "esrgan-basicsr-x4.pth"), tiled)),
};
var images = Images(samples);
Console.WriteLine($"MixedSoak: {requests} requests on {threads} threads, {upscalers.Length} upscalers ({string.Join(", ", upscalers.Select(u => u.Name))}), " +
                  $"{images.Count} images ({string.Join(", ", images.Select(i => i.Name))}); {Environment.ProcessorCount} cores.");

// The references: each pair alone, on this thread.
var clock = Stopwatch.StartNew();
var reference = new byte[upscalers.Length, images.Count][];
for (int u = 0; u < upscalers.Length; u++)
    for (int i = 0; i < images.Count; i++)
        reference[u, i] = Upscale(upscalers[u].Upscaler, images[i].Bytes);
Console.WriteLine($"references: {upscalers.Length * images.Count} outputs in {clock.Elapsed.TotalSeconds:F1} s");

int next = 0, mismatches = 0, failures = 0;
var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
long baselineRss = 0, baselineTensors = 0;
bool flat = true;
Console.WriteLine($"{"requests",8} {"RSS MB",8} {"live tensors",12} {"s",6}");
for (int round = 0; round * Round < requests; round++)
{
    int end = Math.Min(requests, (round + 1) * Round);
    var workers = Enumerable.Range(0, threads).Select(_ => Task.Run(() =>
    {
        int k;
        while ((k = Interlocked.Increment(ref next) - 1) < end)
        {
            // Request k: an upscaler and an image that vary independently, so every pair meets every other in flight.
            int u = k % upscalers.Length, i = (k / upscalers.Length + k) % images.Count;
            try
            {
                if (!Upscale(upscalers[u].Upscaler, images[i].Bytes).AsSpan().SequenceEqual(reference[u, i]))
                {
                    Interlocked.Increment(ref mismatches);
                    errors.Enqueue($"request {k}: {upscalers[u].Name} on {images[i].Name} differs from its reference");
                }
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref failures);
                errors.Enqueue($"request {k}: {upscalers[u].Name} on {images[i].Name}: {e.GetType().Name}: {e.Message}");
            }
        }
    })).ToArray();
    Task.WaitAll(workers);
    next = end;

    GC.Collect();
    GC.WaitForPendingFinalizers();
    long rss = ProcessMemory.Resident(), tensors = torch.Tensor.TotalCount;
    Console.WriteLine($"{end,8} {rss >> 20,8} {tensors,12} {clock.Elapsed.TotalSeconds,6:F0}");
    if (round + 1 == warmupRounds)
        (baselineRss, baselineTensors) = (rss, tensors);
    else if (round + 1 > warmupRounds && (rss > baselineRss + (toleranceMb << 20) || tensors != baselineTensors))
        flat = false;
}

foreach (var (_, upscaler) in upscalers)
    upscaler.Dispose();
foreach (string error in errors.Take(20))
    Console.WriteLine("  " + error);
Console.WriteLine($"{requests} requests: {mismatches} outputs differ from their reference, {failures} failed; after warm-up RSS " +
                  $"{(flat ? "and live tensors stayed flat" : "or live tensors grew")} (baseline {baselineRss >> 20} MB, {baselineTensors} tensors; tolerance +{toleranceMb} MB, +0 tensors).");
return mismatches == 0 && failures == 0 && flat ? 0 : 1;

static byte[] Upscale(SuperResolutionUpscaler upscaler, byte[] input)
{
    using var source = new MemoryStream(input, writable: false);
    using var output = new MemoryStream();
    upscaler.Upscale(source, output, SrImageFormat.Png);
    return output.ToArray();
}

// Images of the modes a service meets: RGB, RGBA with transparency, grayscale, palette and 16-bit PNG, JPEG, an animated
// GIF, in sizes that differ (odd ones included), from two bundled photos.
static List<(string Name, byte[] Bytes)> Images(string samples)
{
    var result = new List<(string, byte[])>();
    using var chelsea = Image.Load<Rgba32>(Path.Combine(samples, "chelsea.png"));
    using var coffee = Image.Load<Rgba32>(Path.Combine(samples, "coffee.png"));
    byte[] Encode(Image image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    using var a = chelsea.Clone(x => x.Crop(new Rectangle(150, 60, 33, 27)));
    using var b = coffee.Clone(x => x.Crop(new Rectangle(200, 150, 24, 20)));
    using var c = chelsea.Clone(x => x.Crop(new Rectangle(100, 40, 41, 31)));
    using var translucent = b.Clone(x => x.Opacity(0.6f));
    result.Add(("rgb 33x27", Encode(a, new PngEncoder { ColorType = PngColorType.Rgb })));
    result.Add(("rgba 24x20", Encode(translucent, new PngEncoder { ColorType = PngColorType.RgbWithAlpha })));
    result.Add(("gray 41x31", Encode(c, new PngEncoder { ColorType = PngColorType.Grayscale })));
    result.Add(("palette 24x20", Encode(b, new PngEncoder { ColorType = PngColorType.Palette })));
    result.Add(("16-bit 33x27", Encode(a, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 })));
    result.Add(("jpeg 41x31", Encode(c, new JpegEncoder { Quality = 90 })));
    using var gif = b.Clone();
    gif.Frames.AddFrame(translucent.Frames.RootFrame);
    result.Add(("gif 2 frames 24x20", Encode(gif, new GifEncoder())));
    return result;
}
