using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNet.SuperResolution.Metrics;

namespace MLNet.SuperResolution;

/// <summary>Super-resolution operations on an <see cref="MLContext"/>: <c>mlContext.SuperResolution()</c>.</summary>
public sealed class SuperResolutionCatalog
{
    private readonly IHost _host;

    internal SuperResolutionCatalog(IHostEnvironment env)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(SuperResolutionCatalog));
    }

    /// <summary>
    /// Measures upscaled images against their ground truth with the SR field's protocol: the label is cropped to a
    /// multiple of <paramref name="scale"/> (top-left, as <c>DownscaleImages</c> does), both are compared on the
    /// BT.601 Y channel with <paramref name="scale"/> border pixels removed; PSNR and SSIM are averaged over images.
    /// </summary>
    /// <param name="data">Data with the ground-truth and upscaled image columns, e.g. <c>model.Transform(testData)</c>.</param>
    /// <param name="scale">The upscaling factor the images were made at (also the border removed).</param>
    /// <param name="labelColumnName">The ground-truth (high-resolution) image column.</param>
    /// <param name="scoreColumnName">The upscaled image column.</param>
    /// <param name="badRowHandling">
    /// What to do with a row whose images cannot be read (e.g. an unreadable file behind <c>LoadImages</c>), are
    /// missing, do not match in size, or are too small to measure: <see cref="SrBadRowHandling.Fail"/> (default) throws
    /// an <see cref="InvalidDataException"/> naming the row and its file; <see cref="SrBadRowHandling.Skip"/> leaves it
    /// out of the means, logs a warning and lists it in <see cref="SuperResolutionMetrics.SkippedRows"/>.
    /// </param>
    /// <returns>Mean PSNR/SSIM and per-image values.</returns>
    /// <exception cref="InvalidDataException">A bad row with <see cref="SrBadRowHandling.Fail"/>, or every row bad with <see cref="SrBadRowHandling.Skip"/>.</exception>
    public SuperResolutionMetrics Evaluate(IDataView data, int scale, string labelColumnName = "HighRes", string scoreColumnName = "SuperRes",
        SrBadRowHandling badRowHandling = SrBadRowHandling.Fail)
    {
        _host.CheckValue(data, nameof(data));
        if (scale < 1 || scale > 8)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be from 1 to 8.");
        var labelColumn = ImageColumns.Check(_host, data.Schema, labelColumnName, "label");
        var scoreColumn = ImageColumns.Check(_host, data.Schema, scoreColumnName, "score");

        using var channel = _host.Start("Evaluate");
        var badRows = new BadRows(badRowHandling, channel, "evaluated data",
            $"pass badRowHandling: {nameof(SrBadRowHandling)}.{nameof(SrBadRowHandling.Skip)} to Evaluate to leave such rows out " +
            $"(each is logged as a warning and listed in {nameof(SuperResolutionMetrics)}.{nameof(SuperResolutionMetrics.SkippedRows)})");
        var results = new List<ImageQualityMetrics>();
        using var cursor = ImageColumns.OpenCursor(data, labelColumn, scoreColumn);
        var readLabel = ImageColumns.MakeReader(cursor, labelColumn);
        var readScore = ImageColumns.MakeReader(cursor, scoreColumn);
        while (cursor.MoveNext())
        {
            _host.CheckAlive();
            try
            {
                results.Add(Measure(cursor));
            }
            catch (Exception e) when (BadRows.IsAboutTheRow(e))
            {
                badRows.Report(cursor.Position, ImageColumns.DescribeRow(cursor), e);
            }
        }

        badRows.CheckSomethingLeft(results.Count);
        return new SuperResolutionMetrics(results, scale, badRows.Skipped);

        ImageQualityMetrics Measure(DataViewRow row)
        {
            var label = readLabel();
            var score = label is null ? null : readScore();
            if (label is null || score is null)
                throw BadRowError.Create($"Row {row.Position}{ImageColumns.DescribeRow(row)} has no image in column '{(label is null ? labelColumnName : scoreColumnName)}'.");
            var truth = label.CropToMultipleOf(scale);
            if (truth.Width != score.Width || truth.Height != score.Height)
                throw BadRowError.Create(
                    $"Row {row.Position}{ImageColumns.DescribeRow(row)}: the upscaled image in '{scoreColumnName}' is {score.Width}x{score.Height} but the label " +
                    $"in '{labelColumnName}' is {label.Width}x{label.Height} ({truth.Width}x{truth.Height} cropped to a multiple of {scale}). Check that scale " +
                    $"{scale} is the scale the images were upscaled by.");
            var (psnr, ssim) = ImageQuality.Compare(score, truth, border: scale);
            return new ImageQualityMetrics((int)row.Position, psnr, ssim, label.Source ?? score.Source);
        }
    }
}
