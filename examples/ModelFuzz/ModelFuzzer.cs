using System.Diagnostics;
using MLNet.SuperResolution;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ModelFuzz;

/// <summary>What a model-file fuzzing run found.</summary>
/// <param name="Cases">Cases run.</param>
/// <param name="Loaded">Mutants that loaded and upscaled a small image.</param>
/// <param name="Refused">Mutants refused with an <see cref="InvalidDataException"/> naming the file.</param>
/// <param name="RefusalReasons">The refusals by reason (the message's start, file names removed).</param>
/// <param name="Kinds">Cases by mutation kind.</param>
/// <param name="Unexpected">Any other exception, an error that does not name the file, a case past the time limit, an
/// executed payload, or memory beyond the bound: case number, mutation kind and what happened.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="PeakRss">The process's peak resident memory over the run.</param>
/// <param name="WorstCase">The case that used the most memory above its start, and how much, against its file's size.</param>
public sealed record ModelFuzzResult(int Cases, int Loaded, int Refused, IReadOnlyDictionary<string, int> RefusalReasons,
    IReadOnlyDictionary<string, int> Kinds, IReadOnlyList<string> Unexpected, TimeSpan Elapsed, long PeakRss,
    (int Case, long Bytes, long FileBytes) WorstCase);

/// <summary>
/// Runs mutants of model files through the library's model reader as a user's code meets it: <c>SrModelFile.Inspect</c>
/// (weights files), then <c>SuperResolutionUpscaler.FromModelFile</c> and one small upscale. Acceptable outcomes: it
/// works, or an <see cref="InvalidDataException"/> whose message names the file; within the time limit, within
/// <see cref="MemoryBound"/> above the memory the case started with, and with no payload executed.
/// </summary>
public static class ModelFuzzer
{
    /// <summary>
    /// Memory a case may use above its start: 8 times the file (a deflated storage may inflate to 4 times the file,
    /// float16 weights double in float32, and the network holds its own copy) plus 160 MiB (the network's working memory
    /// on a small image, libtorch's allocator).
    /// </summary>
    public static long MemoryBound(long fileBytes) => 8 * fileBytes + (160L << 20);

    public static ModelFuzzResult Run(IReadOnlyList<(string Name, byte[] Bytes)> seeds, int cases, int seed, string folder, TimeSpan perCaseLimit,
        Action<string>? progress = null)
    {
        Directory.CreateDirectory(folder);
        string marker = Path.Combine(folder, "PAYLOAD-RAN");
        var mutator = new ModelMutator(marker);
        var random = new Random(seed);
        var unexpected = new List<string>();
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int loaded = 0, refused = 0;
        (int Case, long Bytes, long FileBytes) worst = (-1, 0, 0);
        using var image = new Image<Rgba32>(8, 6, new Rgba32(90, 140, 200, 255));
        var clock = Stopwatch.StartNew();
        for (int k = 0; k < cases; k++)
        {
            var (name, bytes) = seeds[k % seeds.Count];
            byte[] mutant = mutator.Mutate(bytes, random);
            string kind = Kind(mutator.LastKind);
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            string path = Path.Combine(folder, $"case{k}-{name}");
            File.WriteAllBytes(path, mutant);
            long fileBytes = mutant.Length;
            mutant = null!;
            ProcessMemory.ResetPeak();
            long start = ProcessMemory.Resident();
            var run = Task.Run(() =>
            {
                if (!name.EndsWith(".zip", StringComparison.Ordinal))
                    SrModelFile.Inspect(path);
                using var upscaler = SuperResolutionUpscaler.FromModelFile(path);
                using var output = upscaler.Upscale(image);
            });
            string where = $"case {k} ({name}, {mutator.LastKind}, {fileBytes} bytes)";
            try
            {
                if (!run.Wait(perCaseLimit))
                {
                    unexpected.Add($"{where}: still running after {perCaseLimit.TotalSeconds:F0} s");
                    continue;
                }

                loaded++;
            }
            catch (AggregateException e) when (e.InnerException is InvalidDataException invalid)
            {
                if (!invalid.Message.Contains(Path.GetFileName(path), StringComparison.Ordinal))
                {
                    unexpected.Add($"{where}: an error that does not name the file: {invalid.Message}");
                }
                else
                {
                    refused++;
                    string reason = Reason(invalid.Message, path);
                    reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                }
            }
            catch (AggregateException e)
            {
                var frames = (e.InnerException?.StackTrace ?? "").Split('\n').Where(f => f.Contains("MLNet.SuperResolution", StringComparison.Ordinal)).Take(2);
                unexpected.Add($"{where}: {e.InnerException?.GetType().Name}: {e.InnerException?.Message} [{string.Join(" <- ", frames.Select(f => f.Trim()))}]");
            }

            long used = ProcessMemory.PeakResident() - start;
            if (used > worst.Bytes)
                worst = (k, used, fileBytes);
            if (used > MemoryBound(fileBytes))
                unexpected.Add($"{where}: {used >> 20} MiB above its start, more than {MemoryBound(fileBytes) >> 20} MiB");
            if (File.Exists(marker))
            {
                unexpected.Add($"{where}: THE PAYLOAD RAN");
                File.Delete(marker);
            }

            File.Delete(path);
            if (progress is not null && (k + 1) % 500 == 0)
                progress($"{k + 1} cases, {clock.Elapsed.TotalSeconds:F0} s: {loaded} loaded, {refused} refused, {unexpected.Count} unexpected");
        }

        return new ModelFuzzResult(cases, loaded, refused, reasons, kinds, unexpected, clock.Elapsed, ProcessMemory.PeakResidentOfRun, worst);
    }

    /// <summary>The mutation's family for the counts ("zip:pickle:pickle-global:os.system" -> "zip:pickle:pickle-global").</summary>
    private static string Kind(string kind)
        => kind.Contains("pickle-global:", StringComparison.Ordinal) || kind.Contains("pickle-payload:", StringComparison.Ordinal)
            ? kind[..kind.LastIndexOf(':')] : kind;

    /// <summary>The refusal's reason: its message with the file's path taken out, numbers as #, cut at 90 characters.</summary>
    private static string Reason(string message, string path)
    {
        string text = message.Replace(path, "FILE", StringComparison.Ordinal).Replace(Path.GetFileName(path), "FILE", StringComparison.Ordinal);
        text = System.Text.RegularExpressions.Regex.Replace(text, @"\d+", "#");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"'[^']*'", "'...'");
        return text.Length > 90 ? text[..90] : text;
    }
}
