using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Internal.Utilities;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution;

/// <summary>Schema checks and error-reporting reads of image columns, shared by the transforms and the evaluator.</summary>
internal static class ImageColumns
{
    /// <summary>Checks that <paramref name="name"/> is a scalar image column of the estimator's input schema.</summary>
    public static void Check(IExceptionContext host, SchemaShape schema, string name, string role)
    {
        if (!schema.TryFindColumn(name, out var column))
            throw host.ExceptSchemaMismatch(nameof(schema), role, name);
        if (column.ItemType is not ImageDataViewType || column.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw host.ExceptSchemaMismatch(nameof(schema), role, name, "image (MLImage, e.g. from LoadImages)", column.GetTypeString());
    }

    /// <summary>
    /// Schema propagation of the image transforms: checks the required image columns and adds the output image column.
    /// </summary>
    public static SchemaShape WithImageOutput(IExceptionContext host, SchemaShape inputSchema, string outputColumnName, params (string Name, string Role)[] required)
        => WithOutput(host, inputSchema, new SchemaShape.Column(outputColumnName, SchemaShape.Column.VectorKind.Scalar, new ImageDataViewType(), false), required);

    /// <summary>Schema propagation of a transform of image columns: checks the required image columns and adds <paramref name="output"/>.</summary>
    public static SchemaShape WithOutput(IExceptionContext host, SchemaShape inputSchema, SchemaShape.Column output, params (string Name, string Role)[] required)
    {
        host.CheckValue(inputSchema, nameof(inputSchema));
        foreach (var (name, role) in required)
            Check(host, inputSchema, name, role);
        var result = inputSchema.ToDictionary(c => c.Name);
        result[output.Name] = output;
        return new SchemaShape(result.Values);
    }

    /// <summary>Checks that <paramref name="name"/> is an image column of a data view's schema; returns it.</summary>
    public static DataViewSchema.Column Check(IExceptionContext host, DataViewSchema schema, string name, string role)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw host.ExceptSchemaMismatch(nameof(schema), role, name);
        if (column.Type is not ImageDataViewType)
            throw host.ExceptSchemaMismatch(nameof(schema), role, name, "image (MLImage, e.g. from LoadImages)", column.Type.ToString());
        return column;
    }

    /// <summary>
    /// A reader of the current row's image, copied into managed memory (an MLImage dies with its cursor). Errors from
    /// upstream (e.g. an unreadable file in LoadImages) are rethrown as a <see cref="BadRowError"/> naming the
    /// column, the row and the row's text values (the file path, for images from LoadImages); a bad-row error from an
    /// image transform of this library upstream already names its row and column and passes through unchanged.
    /// </summary>
    public static Func<RgbImage?> MakeReader(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<MLImage>(column);
        // Not disposed here: the image may belong to the caller (LoadFromEnumerable, a PredictionEngine input) and be used
        // again. ML.NET's convention does the rest: LoadImages disposes the image it made for the previous row when it
        // is handed the same variable for the next one, so this variable lives as long as the reader.
        MLImage image = null!; // the getter may leave it null: no image in this row
        return () =>
        {
            try
            {
                getter(ref image);
                return image is null || image.Width <= 0 || image.Height <= 0 ? null : RgbImage.FromMLImage(image);
            }
            catch (Exception e) when (BadRows.IsAboutTheRow(e) && !BadRowError.Is(e))
            {
                // SkiaSharp's message for a file it cannot decode does not say what is wrong with it.
                string problem = e is ArgumentException { ParamName: "imageStream" }
                    ? $"the file is not an image that LoadImages (SkiaSharp) can decode: empty, cut off within its header, or not an image format ({e.Message})"
                    : e.Message;
                throw BadRowError.Create($"Could not read the image in column '{column.Name}' at row {row.Position}{DescribeRow(row)}: {problem}", e);
            }
        };
    }

    /// <summary>
    /// A cursor over <paramref name="columns"/> and the data's visible text columns (so that messages can name the
    /// file behind a row: <see cref="DescribeRow"/>).
    /// </summary>
    public static DataViewRowCursor OpenCursor(IDataView data, params DataViewSchema.Column[] columns)
        => data.GetRowCursor(columns.Concat(data.Schema.Where(c => !c.IsHidden && c.Type is TextDataViewType)).Distinct());

    /// <summary>" (Path='a.png')": the row's active text columns, to name the file behind a failing image.</summary>
    public static string DescribeRow(DataViewRow row)
    {
        var parts = new List<string>();
        foreach (var column in row.Schema)
        {
            if (column.IsHidden || column.Type is not TextDataViewType || !row.IsColumnActive(column))
                continue;
            try
            {
                ReadOnlyMemory<char> value = default;
                row.GetGetter<ReadOnlyMemory<char>>(column)(ref value);
                parts.Add($"{column.Name}='{value}'");
            }
            catch (Exception)
            {
                // Best effort: a description must never hide the original error.
            }

            if (parts.Count == 3)
                break;
        }

        return parts.Count == 0 ? string.Empty : " (" + string.Join(", ", parts) + ")";
    }
}
