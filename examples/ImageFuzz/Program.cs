using ImageFuzz;

// Mutation fuzzing of the image readers (MATLAB bicubic x2: the work is the decoding):
//   imagesharp  the upscaler's reader (ImageSharp, with the metadata scan and the pixel limit);
//   loadimages  ML.NET's LoadImages (SkiaSharp) in a pipeline, each file checked first with SrImageFiles.Check as
//               sr train and sr eval do (LoadImages itself checks no pixel count);
//   loadimages-unchecked  LoadImages alone, as a pipeline that skips the check meets a file;
//   both        (default) each mutant through imagesharp and loadimages.
//   dotnet run -c Release --project examples/ImageFuzz -- [CASES=10000] [SEED=1] [imagesharp|loadimages|loadimages-unchecked|both]
int cases = args.Length > 0 ? int.Parse(args[0]) : 10_000;
int seed = args.Length > 1 ? int.Parse(args[1]) : 1;
string reader = args.Length > 2 ? args[2] : "both";
if (reader is not ("imagesharp" or "loadimages" or "loadimages-unchecked" or "both"))
{
    Console.Error.WriteLine($"unknown reader '{reader}': imagesharp, loadimages, loadimages-unchecked or both");
    return 2;
}

var seeds = SeedFiles.Create(Path.Combine(AppContext.BaseDirectory, "samples"));
using var readers = new FuzzReaders(seed);

Action<byte[]> target = reader switch
{
    "imagesharp" => readers.ImageSharp,
    "loadimages" => bytes => readers.LoadImages(bytes, check: true),
    "loadimages-unchecked" => bytes => readers.LoadImages(bytes, check: false),
    _ => bytes =>
    {
        // Both readers see every mutant; the first refusal is reported, after the other reader has had its turn.
        InvalidDataException? refused = null;
        foreach (var read in new Action<byte[]>[] { readers.ImageSharp, b => readers.LoadImages(b, check: true) })
        {
            try
            {
                read(bytes);
            }
            catch (InvalidDataException e)
            {
                refused ??= e;
            }
        }

        if (refused is not null)
            throw refused;
    },
};

Console.WriteLine($"Fuzzing {cases} mutants of {seeds.Count} seed files (PNG RGB/RGBA/gray/palette/16-bit, JPEG, CMYK JPEG, GIF, BMP, and one of each hostile-metadata kind) through {reader}, seed {seed}...");
// Behind the checks (pixel limit 4 MP, metadata limits) a case may take 256 MiB above its start at most; unchecked
// LoadImages has no such bound (SkiaSharp allocates what a header declares).
var result = Fuzzer.Run(seeds, cases, seed, target, TimeSpan.FromSeconds(30), reader == "loadimages-unchecked" ? null : 256L << 20);
Console.WriteLine($"{result.Cases} cases in {result.Elapsed.TotalSeconds:F1} s: {result.Decoded} decoded, {result.Rejected} rejected with a clear error, {result.Unexpected.Count} unexpected; " +
                  $"most memory above a case's start: {result.WorstCase.Bytes >> 20} MiB (case {result.WorstCase.Case}).");
Console.WriteLine($"Causes behind the clear errors: {string.Join(", ", result.RejectionCauses.Select(c => $"{c.Key} {c.Value}"))}.");
foreach (var line in result.Unexpected.Take(50))
    Console.WriteLine("  " + line);
return result.Unexpected.Count == 0 ? 0 : 1;
