using ImageFuzz;
using Microsoft.ML;
using MLNet.SuperResolution;

// Mutation fuzzing of the image reader through the public upscaler (MATLAB bicubic x2: the work is the decoding).
int cases = args.Length > 0 ? int.Parse(args[0]) : 10_000;
int seed = args.Length > 1 ? int.Parse(args[1]) : 1;

var seeds = SeedFiles.Create(Path.Combine(AppContext.BaseDirectory, "samples"));
var ml = new MLContext(seed: seed);
var empty = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
var images = ml.Transforms.LoadImages("LowRes", null, "Path").Fit(empty).Transform(empty);
using var bicubic = ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, 2).Fit(images);
using var upscaler = SuperResolutionUpscaler.FromTransformer(bicubic);
upscaler.MaxInputPixels = 4_000_000;

Console.WriteLine($"Fuzzing {cases} mutants of {seeds.Count} seed files (PNG RGB/RGBA/gray/palette/16-bit, JPEG, CMYK JPEG, GIF, BMP, and one of each hostile-metadata kind), seed {seed}...");
var result = Fuzzer.Run(seeds, cases, seed, bytes =>
{
    using var input = new MemoryStream(bytes);
    using var output = new MemoryStream();
    upscaler.Upscale(input, output, SrImageFormat.Png);
}, TimeSpan.FromSeconds(30));
Console.WriteLine($"{result.Cases} cases in {result.Elapsed.TotalSeconds:F1} s: {result.Decoded} decoded, {result.Rejected} rejected with a clear error, {result.Unexpected.Count} unexpected.");
Console.WriteLine($"Causes behind the clear errors: {string.Join(", ", result.RejectionCauses.Select(c => $"{c.Key} {c.Value}"))}.");
foreach (var line in result.Unexpected.Take(50))
    Console.WriteLine("  " + line);
return result.Unexpected.Count == 0 ? 0 : 1;
