using System.Diagnostics;

namespace ImageFuzz;

/// <summary>What a fuzzing run found.</summary>
/// <param name="Cases">Cases run.</param>
/// <param name="Decoded">Mutants that still decoded and upscaled.</param>
/// <param name="Rejected">Mutants refused with <see cref="InvalidDataException"/> (a clear, specific error).</param>
/// <param name="Unexpected">Any other exception, or a case that ran past the time limit: case number, kind and message.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="RejectionCauses">For the rejected cases: the decoder's own exception type behind the clear error, and how often.</param>
public sealed record FuzzResult(int Cases, int Decoded, int Rejected, IReadOnlyList<string> Unexpected, TimeSpan Elapsed,
    IReadOnlyDictionary<string, int> RejectionCauses);

/// <summary>Runs mutants of seed files through a target; only success or <see cref="InvalidDataException"/> is acceptable.</summary>
public static class Fuzzer
{
    public static FuzzResult Run(IReadOnlyList<byte[]> seeds, int cases, int seed, Action<byte[]> target, TimeSpan perCaseLimit)
    {
        var random = new Random(seed);
        var unexpected = new List<string>();
        int decoded = 0, rejected = 0;
        var causes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        for (int k = 0; k < cases; k++)
        {
            byte[] mutant = ImageMutator.Mutate(seeds[k % seeds.Count], random);
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
        }

        return new FuzzResult(cases, decoded, rejected, unexpected, clock.Elapsed, causes);
    }
}
