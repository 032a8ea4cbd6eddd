// Draws the zoo report's pictures from the results ZooReport writes (run by ZooReport; a process of its own because
// ScottPlot's SkiaSharp 3 cannot share a process with ML.NET's MLImage):
//   ZooReport.Charts <chart-input.json> <crops folder> <output folder>
using System.Globalization;
using System.Text.Json;
using SkiaSharp;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: ZooReport.Charts <chart-input.json> <crops folder> <output folder>");
    return 2;
}

var input = JsonSerializer.Deserialize<ChartInput>(File.ReadAllText(args[0]))!;
Directory.CreateDirectory(args[2]);
var bicubic = input.Points.Single(p => p.Network == "Bicubic");
var trained = input.Points.Where(p => p.Network != "Bicubic").ToList();
Charts.Scatter(Path.Combine(args[2], "psnr-vs-parameters.png"), trained, bicubic.Psnr, input.Set, p => p.Parameters, "trainable parameters");
Charts.Scatter(Path.Combine(args[2], "psnr-vs-inference-time.png"), trained, bicubic.Psnr, input.Set, p => p.InferenceMs, $"inference time for a {input.TimingSize}x{input.TimingSize} input (ms)");
Charts.Grid(Path.Combine(args[2], "crops.png"), args[1], new[] { "HR" }.Concat(input.Points.Select(p => p.Network)).ToList());
return 0;

/// <summary>What ZooReport passes: the PSNR set and one point per method.</summary>
internal sealed record ChartInput(string Set, int TimingSize, List<ChartPoint> Points);

/// <summary>One method's figures.</summary>
internal sealed record ChartPoint(string Network, long Parameters, double InferenceMs, double Psnr);

/// <summary>The two scatter charts and the grid of crops.</summary>
internal static class Charts
{
    public static void Scatter(string path, List<ChartPoint> points, double bicubicPsnr, string set, Func<ChartPoint, double> x, string xLabel)
    {
        var plot = new ScottPlot.Plot();
        var shown = points.Where(p => x(p) > 0).ToList();
        double[] xs = shown.Select(p => Math.Log10(x(p))).ToArray();
        double[] ys = shown.Select(p => p.Psnr).ToArray();
        var scatter = plot.Add.ScatterPoints(xs, ys);
        scatter.MarkerSize = 8;
        for (int i = 0; i < shown.Count; i++)
        {
            var label = plot.Add.Text(shown[i].Network, xs[i], ys[i]);
            label.LabelFontSize = 11;
            label.LabelOffsetX = 5;
            // Two points almost on top of each other (EDSR and its baseline): the lower one's label goes below its point.
            bool crowded = Enumerable.Range(0, shown.Count).Any(j => j != i && Math.Abs(xs[j] - xs[i]) < 0.05 && Math.Abs(ys[j] - ys[i]) < 0.08 && ys[j] > ys[i]);
            label.LabelOffsetY = crowded ? 8 : -5;
        }

        var line = plot.Add.HorizontalLine(bicubicPsnr);
        line.LinePattern = ScottPlot.LinePattern.Dashed;
        line.LegendText = "bicubic";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString(v >= 4 ? "0.#E+0" : "0.##", CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        if (xs.Length > 0)
            plot.Axes.SetLimitsX(Math.Floor(xs.Min()) - 0.05, Math.Max(Math.Ceiling(xs.Max() + 1e-9), xs.Max() + 0.3) + 0.05); // whole decades: the ticks show; room for the labels
        plot.Title($"{set} x2: PSNR (Y) against {xLabel}");
        plot.XLabel($"{xLabel}, log scale");
        plot.YLabel($"PSNR on {set} (dB)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 600);
    }

    public static void Grid(string path, string crops, List<string> names)
    {
        var tiles = new List<(string Label, SKBitmap Bitmap)>();
        foreach (string name in names)
        {
            string file = Path.Combine(crops, $"{name}.png");
            if (File.Exists(file))
                tiles.Add((name, SKBitmap.Decode(file)));
        }

        if (tiles.Count == 0)
            return;
        const int enlarge = 2, label = 22, gap = 6, columns = 6;
        int tileWidth = tiles[0].Bitmap.Width * enlarge, tileHeight = tiles[0].Bitmap.Height * enlarge;
        int columnCount = Math.Min(columns, tiles.Count);
        int rows = (tiles.Count + columnCount - 1) / columnCount;
        int width = columnCount * (tileWidth + gap) + gap, height = rows * (tileHeight + label + gap) + gap;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 15);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var sampling = new SKPaint { IsAntialias = false };
        for (int i = 0; i < tiles.Count; i++)
        {
            int left = gap + i % columnCount * (tileWidth + gap), top = gap + i / columnCount * (tileHeight + label + gap);
            canvas.DrawText(tiles[i].Label, left, top + label - 6, SKTextAlign.Left, font, paint);
            using var image = SKImage.FromBitmap(tiles[i].Bitmap);
            canvas.DrawImage(image, SKRect.Create(left, top + label, tileWidth, tileHeight), new SKSamplingOptions(SKFilterMode.Nearest), sampling);
            tiles[i].Bitmap.Dispose();
        }

        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }
}
