using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNet.SuperResolution;
using MLNet.SuperResolution.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

[assembly: LoadableClass(typeof(EncodeImagesTransformer), null, typeof(SignatureLoadModel),
    EncodeImagesTransformer.UserName, EncodeImagesTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IRowMapper), typeof(EncodeImagesTransformer), null, typeof(SignatureLoadRowMapper),
    EncodeImagesTransformer.UserName, EncodeImagesTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IDataTransform), typeof(EncodeImagesTransformer), null, typeof(SignatureLoadDataTransform),
    EncodeImagesTransformer.UserName, EncodeImagesTransformer.LoaderSignature)]

namespace MLNet.SuperResolution;

/// <summary>
/// Encodes each image of an image column into a file's bytes (PNG by default; JPEG, WebP, BMP), as a variable-length
/// <c>byte</c> vector column. This is how a <c>PredictionEngine</c> hands an upscaled image back: ML.NET's prediction
/// engine cannot return an <see cref="MLImage"/> member, but it returns a <c>byte[]</c> one. Alpha is kept where the
/// format holds it. Made by <c>mlContext.Transforms.EncodeImages</c>; needs no training.
/// </summary>
public sealed class EncodeImagesTransformer : OneToOneTransformerBase
{
    internal const string UserName = "Encode Images";
    internal const string LoaderSignature = "SrEncodeImages";
    private const string RegistrationName = "EncodeImages";

    /// <summary>The JPEG quality used when <see cref="Format"/> is <see cref="SrImageFormat.Jpeg"/>.</summary>
    public const int DefaultJpegQuality = 95;

    internal EncodeImagesTransformer(IHostEnvironment env, string outputColumnName, string inputColumnName, SrImageFormat format, int jpegQuality)
        : base(Contracts.CheckRef(env, nameof(env)).Register(RegistrationName), (outputColumnName, inputColumnName))
    {
        Format = CheckFormat(format);
        JpegQuality = CheckQuality(jpegQuality);
    }

    private EncodeImagesTransformer(IHost host, ModelLoadContext ctx)
        : base(host, ctx)
    {
        // See SaveModel for the binary format.
        int format = ctx.Reader.ReadInt32();
        int quality = ctx.Reader.ReadInt32();
        if (!Enum.IsDefined((SrImageFormat)format) || quality is < 1 or > 100)
            throw host.ExceptDecode($"The model's image format {format} / JPEG quality {quality} is not one this version knows; the file is corrupt or newer.");
        Format = (SrImageFormat)format;
        JpegQuality = quality;
    }

    /// <summary>The file format the images are encoded in.</summary>
    public SrImageFormat Format { get; }

    /// <summary>The JPEG quality (1..100), used for <see cref="SrImageFormat.Jpeg"/>.</summary>
    public int JpegQuality { get; }

    /// <summary>The output column's name (a variable-length vector of bytes: the encoded file).</summary>
    public string OutputColumnName => ColumnPairs[0].outputColumnName;

    /// <summary>The input column's name (images).</summary>
    public string InputColumnName => ColumnPairs[0].inputColumnName;

    internal static SrImageFormat CheckFormat(SrImageFormat format) => Enum.IsDefined(format)
        ? format
        : throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format: use Png, Jpeg, Webp or Bmp.");

    internal static int CheckQuality(int quality) => quality is >= 1 and <= 100
        ? quality
        : throw new ArgumentOutOfRangeException(nameof(quality), quality, "JPEG quality is 1..100.");

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "SRENCODE",
        verWrittenCur: 0x00010001, // Initial
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(EncodeImagesTransformer).Assembly.FullName);

    /// <summary>Saves the transform (called by ML.NET's model saving).</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());

        // *** Binary format ***
        // <base>: the column pair
        // int: format (SrImageFormat)
        // int: JPEG quality
        SaveColumns(ctx);
        ctx.Writer.Write((int)Format);
        ctx.Writer.Write(JpegQuality);
    }

    // Factory method for SignatureLoadModel. The guard runs before any method that touches ML.NET's internals is compiled.
    private static EncodeImagesTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        MLNetInternals.EnsureAvailable();
        return Load(env, ctx);
    }

    private static EncodeImagesTransformer Load(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        var host = env.Register(RegistrationName);
        host.CheckValue(ctx, nameof(ctx));
        ModelVersions.CheckNotNewer(host, ctx, GetVersionInfo(), "EncodeImages transform");
        ctx.CheckAtModel(GetVersionInfo());
        return new EncodeImagesTransformer(host, ctx);
    }

    // Factory method for SignatureLoadDataTransform.
    private static IDataTransform Create(IHostEnvironment env, ModelLoadContext ctx, IDataView input)
        => Create(env, ctx).MakeDataTransform(input);

    // Factory method for SignatureLoadRowMapper.
    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>Encodes one image (planar RGB, optional alpha) into the format's bytes.</summary>
    internal byte[] Encode(RgbImage image)
    {
        using var pixels = new Image<Rgba32>(image.Width, image.Height);
        ImageFiles.WriteRgb(pixels, image.Planes, 0, 0, image.Width, image.Height);
        if (image.Alpha is { } alpha)
            ImageFiles.SetAlpha(pixels, alpha);
        using var stream = new MemoryStream();
        ImageFiles.Write(pixels, grayscale: false, alpha: image.Alpha is not null, stream, Format, JpegQuality);
        return stream.ToArray();
    }

    /// <summary>Checks that the input column holds images.</summary>
    protected override void CheckInputColumn(DataViewSchema inputSchema, int col, int srcCol)
        => ImageColumns.Check(Host, inputSchema, inputSchema[srcCol].Name, "input");

    /// <summary>Makes the row mapper (called by ML.NET).</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private sealed class Mapper : OneToOneMapperBase
    {
        private readonly EncodeImagesTransformer _owner;

        public Mapper(EncodeImagesTransformer owner, DataViewSchema inputSchema)
            : base(owner.Host.Register(nameof(Mapper)), owner, inputSchema)
        {
            _owner = owner;
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
            => new[] { new DataViewSchema.DetachedColumn(_owner.OutputColumnName, new VectorDataViewType(NumberDataViewType.Byte), null) };

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer)
        {
            var read = ImageColumns.MakeReader(input, input.Schema[ColMapNewToOld[iinfo]]);
            disposer = () => { };
            ValueGetter<VBuffer<byte>> getter = (ref VBuffer<byte> dst) =>
            {
                // No image in this row: an empty vector.
                byte[] bytes = read() is { } image ? _owner.Encode(image) : [];
                var editor = VBufferEditor.Create(ref dst, bytes.Length);
                bytes.CopyTo(editor.Values);
                dst = editor.Commit();
            };
            return getter;
        }
    }
}

/// <summary>
/// Encodes an image column into files' bytes (<see cref="EncodeImagesTransformer"/>): for a <c>PredictionEngine</c>
/// whose output class has a <c>byte[]</c> member. Made by <c>mlContext.Transforms.EncodeImages</c>. Needs no
/// training: <see cref="Fit"/> only checks the schema.
/// </summary>
/// <remarks>
/// Estimator characteristics:
/// <list type="bullet">
/// <item><description>Needs training: no.</description></item>
/// <item><description>Input column: <see cref="MLImage"/>, any size.</description></item>
/// <item><description>Output column: a variable-length vector of <see cref="byte"/> (a <c>byte[]</c> member of a prediction class).</description></item>
/// <item><description>Saved and loaded with <c>mlContext.Model.Save</c> / <c>Load</c>; not exportable with ML.NET's <c>ConvertToOnnx</c>.</description></item>
/// </list>
/// </remarks>
public sealed class EncodeImagesEstimator : IEstimator<EncodeImagesTransformer>
{
    private readonly IHost _host;
    private readonly EncodeImagesTransformer _transformer;

    internal EncodeImagesEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, SrImageFormat format, int jpegQuality)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(EncodeImagesEstimator));
        _host.CheckNonEmpty(outputColumnName, nameof(outputColumnName));
        _host.CheckNonEmpty(inputColumnName, nameof(inputColumnName));
        _transformer = new EncodeImagesTransformer(env, outputColumnName, inputColumnName, format, jpegQuality);
    }

    /// <summary>Returns the transformer after checking that the input column is an image column.</summary>
    public EncodeImagesTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        ImageColumns.Check(_host, input.Schema, _transformer.InputColumnName, "input");
        return _transformer;
    }

    /// <summary>Adds the output column (a variable-length byte vector) to the schema.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => ImageColumns.WithOutput(_host, inputSchema,
            new SchemaShape.Column(_transformer.OutputColumnName, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Byte, false),
            (_transformer.InputColumnName, "input"));
}
