using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using MLNet.SuperResolution.Imaging;

namespace MLNet.SuperResolution;

/// <summary>
/// Base of the transformers that map one image column to a new image column (<see cref="MLImage"/>, BGRA32, like
/// <c>LoadImages</c> produces): checks the input column, copies each image out of its cursor, maps it, and keeps
/// the source image's tag (its file path).
/// </summary>
public abstract class ImageToImageTransformerBase : OneToOneTransformerBase
{
    private protected ImageToImageTransformerBase(IHost host, string outputColumnName, string inputColumnName)
        : base(host, (outputColumnName, inputColumnName))
    {
    }

    private protected ImageToImageTransformerBase(IHost host, ModelLoadContext ctx)
        : base(host, ctx)
    {
    }

    /// <summary>The output column's name.</summary>
    public string OutputColumnName => ColumnPairs[0].outputColumnName;

    /// <summary>The input column's name.</summary>
    public string InputColumnName => ColumnPairs[0].inputColumnName;

    /// <summary>
    /// Maps one image into the output column's new <see cref="MLImage"/>. <paramref name="where"/> names the column, row
    /// and file, for error messages.
    /// </summary>
    private protected abstract MLImage Map(RgbImage input, Func<string> where);

    /// <summary>Checks that the input column holds images.</summary>
    protected override void CheckInputColumn(DataViewSchema inputSchema, int col, int srcCol)
        => ImageColumns.Check(Host, inputSchema, inputSchema[srcCol].Name, "input");

    /// <summary>Makes the row mapper (called by ML.NET).</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private sealed class Mapper : OneToOneMapperBase
    {
        private readonly ImageToImageTransformerBase _owner;

        public Mapper(ImageToImageTransformerBase owner, DataViewSchema inputSchema)
            : base(owner.Host.Register(nameof(Mapper)), owner, inputSchema)
        {
            _owner = owner;
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
            => new[] { new DataViewSchema.DetachedColumn(_owner.OutputColumnName, new ImageDataViewType(), null) };

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
        {
            var column = input.Schema[ColMapNewToOld[iinfo]];
            var read = ImageColumns.MakeReader(input, column);
            string Where() => $"The image in column '{column.Name}' at row {input.Position}{ImageColumns.DescribeRow(input)}";
            disposer = () => { };
            ValueGetter<MLImage?> getter = (ref MLImage? dst) =>
            {
                dst?.Dispose();
                dst = null;
                var source = read();
                if (source is null)
                    return;
                dst = _owner.Map(source, Where);
                if (source.Source is not null)
                    dst.Tag = source.Source;
            };
            return getter;
        }
    }
}
