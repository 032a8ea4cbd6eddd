using ModelFuzz;

// Structure-aware fuzzing of the model-file reader (torch zip, legacy pickle, safetensors, ML.NET model zips) through
// SrModelFile.Inspect and SuperResolutionUpscaler.FromModelFile: every mutant must load or be refused with an
// InvalidDataException naming the file, within time and memory bounds, and no pickle payload may run.
//   dotnet run -c Release --project examples/ModelFuzz -- [CASES=10000] [SEED=1]
int cases = args.Length > 0 ? int.Parse(args[0]) : 10_000;
int seed = args.Length > 1 ? int.Parse(args[1]) : 1;

string work = Directory.CreateTempSubdirectory("modelfuzz-").FullName;
try
{
    var seeds = SeedModels.Create(Path.Combine(AppContext.BaseDirectory, "seeds"), Path.Combine(work, "seeds"));
    Console.WriteLine($"Fuzzing {cases} mutants of {seeds.Count} seed models ({string.Join(", ", seeds.Select(s => s.Name))}), seed {seed}...");
    var result = ModelFuzzer.Run(seeds, cases, seed, Path.Combine(work, "cases"), TimeSpan.FromSeconds(60), Console.WriteLine);
    Console.WriteLine($"{result.Cases} cases in {result.Elapsed.TotalSeconds:F0} s: {result.Loaded} loaded, {result.Refused} refused with a clear error, " +
        $"{result.Unexpected.Count} unexpected; peak RSS {result.PeakRss >> 20} MiB; most memory above a case's start: " +
        $"{result.WorstCase.Bytes >> 20} MiB (case {result.WorstCase.Case}, a {result.WorstCase.FileBytes >> 10} KiB file).");
    Console.WriteLine("Mutations: " + string.Join(", ", result.Kinds.Select(k => $"{k.Key} {k.Value}")));
    Console.WriteLine("Refusals by reason:");
    foreach (var reason in result.RefusalReasons.OrderByDescending(r => r.Value))
        Console.WriteLine($"  {reason.Value,6}  {reason.Key}");
    foreach (string line in result.Unexpected.Take(50))
        Console.WriteLine("  UNEXPECTED " + line);
    return result.Unexpected.Count == 0 ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}
