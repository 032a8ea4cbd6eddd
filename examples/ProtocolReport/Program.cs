// Set5/Set14 through the pipeline with the SR protocol (docs/protocol.md):
//   dotnet run -c Release --project examples/ProtocolReport [-- <shared dir>]
// Rows: bicubic on the MATLAB-made LR files, bicubic on our DownscaleImages LR, imported FSRCNN (public weights).
using System.Diagnostics;
using Microsoft.ML;
using MLNet.SuperResolution;

string shared = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("..", "shared"));
if (!Directory.Exists(Path.Combine(shared, "data", "benchmark")))
{
    Console.Error.WriteLine($"Benchmark data not found under {shared}; pass the shared directory as the first argument.");
    return 2;
}

var ml = new MLContext(seed: 1);
Console.WriteLine("| set | scale | method | PSNR (dB) | SSIM | seconds |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (string set in new[] { "Set5", "Set14" })
{
    foreach (int scale in new[] { 2, 3, 4 })
    {
        string folder = Path.Combine(shared, "data", "benchmark", set, $"x{scale}");
        var rows = Directory.GetFiles(Path.Combine(folder, "HR"), "*.png").OrderBy(p => p)
            .Select(hr => new PairRow { HighResPath = hr, LowResPath = Path.Combine(folder, "LR", Path.GetFileName(hr)) }).ToArray();
        IDataView data = ml.Data.LoadFromEnumerable(rows);
        var matlabLowRes = ml.Transforms.LoadImages("HighRes", null, nameof(PairRow.HighResPath))
            .Append(ml.Transforms.LoadImages("LowRes", null, nameof(PairRow.LowResPath)));
        var ourLowRes = ml.Transforms.LoadImages("HighRes", null, nameof(PairRow.HighResPath))
            .Append(ml.Transforms.DownscaleImages("LowRes", scale, "HighRes"));

        Report(set, scale, "bicubic (MATLAB LR files)", matlabLowRes.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale)));
        Report(set, scale, "bicubic (DownscaleImages LR)", ourLowRes.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale)));
        string weights = Path.Combine(shared, "weights", "fsrcnn", $"fsrcnn_x{scale}.pth");
        if (File.Exists(weights))
        {
            Report(set, scale, "FSRCNN imported (MATLAB LR files)", matlabLowRes.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Fsrcnn, scale, weights, SrChannels.Y)));
            Report(set, scale, "FSRCNN imported (DownscaleImages LR)", ourLowRes.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Fsrcnn, scale, weights, SrChannels.Y)));
        }

        void Report<T>(string setName, int s, string method, IEstimator<T> pipeline) where T : class, ITransformer
        {
            var clock = Stopwatch.StartNew();
            var metrics = ml.SuperResolution().Evaluate(pipeline.Fit(data).Transform(data), scale: s, labelColumnName: "HighRes", scoreColumnName: "SuperRes");
            Console.WriteLine($"| {setName} | x{s} | {method} | {metrics.Psnr:F3} | {metrics.Ssim:F4} | {clock.Elapsed.TotalSeconds:F1} |");
        }
    }
}

return 0;
