using System.Diagnostics;

namespace ImageFuzz;

/// <summary>What a fuzzing run found.</summary>
/// <param name="Cases">Cases run.</param>
/// <param name="Decoded">Mutants that still decoded and upscaled.</param>
/// <param name="Rejected">Mutants refused with <see cref="InvalidDataException"/> (a clear, specific error).</param>
/// <param name="Unexpected">Any other exception, or a case that ran past the time limit: case number, kind and message.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="RejectionCauses">For the rejected cases: the decoder's own exception type behind the clear error, and how often.</param>
/// <param name="WorstCase">The case that took the most resident memory above its start (Linux), and how much.</param>
public sealed record FuzzResult(int Cases, int Decoded, int Rejected, IReadOnlyList<string> Unexpected, TimeSpan Elapsed,
    IReadOnlyDictionary<string, int> RejectionCauses, (int Case, long Bytes) WorstCase = default);

/// <summary>Runs mutants of seed files through a target; only success or <see cref="InvalidDataException"/> is acceptable.</summary>
public static class Fuzzer
{
    /// <param name="memoryLimit">When set, a case that takes more resident memory than this above its start is unexpected (Linux).</param>
    public static FuzzResult Run(IReadOnlyList<byte[]> seeds, int cases, int seed, Action<byte[]> target, TimeSpan perCaseLimit, long? memoryLimit = null)
    {
        var random = new Random(seed);
        var unexpected = new List<string>();
        int decoded = 0, rejected = 0;
        var causes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        (int Case, long Bytes) worst = (-1, 0);
        var clock = Stopwatch.StartNew();
        for (int k = 0; k < cases; k++)
        {
            byte[] mutant = ByteMutator.Mutate(seeds[k % seeds.Count], random);
            ProcessMemory.ResetPeak();
            long start = ProcessMemory.Resident();
            var run = Task.Run(() => target(mutant));
            try
            {
                if (!run.Wait(perCaseLimit))
                {
                    unexpected.Add($"case {k}: still running after {perCaseLimit.TotalSeconds:F0} s ({mutant.Length} bytes)");
                    continue;
                }

                decoded++;
            }
            catch (AggregateException e) when (e.InnerException is InvalidDataException invalid)
            {
                rejected++;
                string cause = invalid.InnerException?.GetType().Name ?? nameof(InvalidDataException);
                causes[cause] = causes.GetValueOrDefault(cause) + 1;
            }
            catch (AggregateException e)
            {
                unexpected.Add($"case {k}: {e.InnerException?.GetType().Name}: {e.InnerException?.Message}");
            }
            finally
            {
                long used = ProcessMemory.PeakResident() - start;
                if (used > worst.Bytes)
                {
                    worst = (k, used);
                    // IMAGEFUZZ_KEEP_WORST=FOLDER keeps the mutant that used the most memory so far, to look at.
                    if (Environment.GetEnvironmentVariable("IMAGEFUZZ_KEEP_WORST") is { Length: > 0 } keep)
                        File.WriteAllBytes(Path.Combine(keep, "worst-case"), mutant);
                }
                if (memoryLimit is { } limit && used > limit)
                    unexpected.Add($"case {k}: {used >> 20} MiB above its start ({mutant.Length} bytes), more than {limit >> 20} MiB");
            }
        }

        return new FuzzResult(cases, decoded, rejected, unexpected, clock.Elapsed, causes, worst);
    }
}
