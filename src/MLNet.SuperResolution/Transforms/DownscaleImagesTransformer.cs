using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Internal.Utilities;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using MLNet.SuperResolution;
using MLNet.SuperResolution.Imaging;

[assembly: LoadableClass(typeof(DownscaleImagesTransformer), null, typeof(SignatureLoadModel),
    DownscaleImagesTransformer.UserName, DownscaleImagesTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IRowMapper), typeof(DownscaleImagesTransformer), null, typeof(SignatureLoadRowMapper),
    DownscaleImagesTransformer.UserName, DownscaleImagesTransformer.LoaderSignature)]

[assembly: LoadableClass(typeof(IDataTransform), typeof(DownscaleImagesTransformer), null, typeof(SignatureLoadDataTransform),
    DownscaleImagesTransformer.UserName, DownscaleImagesTransformer.LoaderSignature)]

namespace MLNet.SuperResolution;

/// <summary>
/// The SR field's degradation: crops each image to a multiple of the scale (top-left kept), then shrinks it with
/// MATLAB's <c>imresize(x, 1/scale, 'bicubic')</c> exactly (antialiasing, mirrored borders, 8-bit rounding after each
/// pass), which reproduces the LR files of the published benchmarks. At scale 1 the image passes unchanged (the input
/// of x1 restoration networks, whose degradation is made elsewhere). Made by <c>mlContext.Transforms.DownscaleImages</c>.
/// </summary>
public sealed class DownscaleImagesTransformer : ImageToImageTransformerBase
{
    internal const string UserName = "Downscale Images (MATLAB bicubic)";
    internal const string LoaderSignature = "SrDownscaleImages";
    private const string RegistrationName = "DownscaleImages";

    internal DownscaleImagesTransformer(IHostEnvironment env, string outputColumnName, string inputColumnName, int scale)
        : base(Contracts.CheckRef(env, nameof(env)).Register(RegistrationName), outputColumnName, inputColumnName)
    {
        Scale = CheckScale(scale);
    }

    /// <summary>The downscaling factor.</summary>
    public int Scale { get; }

    internal static int CheckScale(int scale) => scale is >= 1 and <= 8
        ? scale
        : throw new ArgumentOutOfRangeException(nameof(scale), scale, $"Scale must be an integer from 1 to 8; got {scale}.");

    private static VersionInfo GetVersionInfo() => new(
        modelSignature: "SRDOWNSC",
        verWrittenCur: 0x00010001, // Initial
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(DownscaleImagesTransformer).Assembly.FullName);

    /// <summary>Saves the transform (called by ML.NET's model saving).</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());

        // *** Binary format ***
        // <base>: the column pair
        // int: scale
        SaveColumns(ctx);
        ctx.Writer.Write(Scale);
    }

    // Factory method for SignatureLoadModel. The guard runs before any method that touches ML.NET's internals is compiled.
    private static DownscaleImagesTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        MLNetInternals.EnsureAvailable();
        return Load(env, ctx);
    }

    private static DownscaleImagesTransformer Load(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        var host = env.Register(RegistrationName);
        host.CheckValue(ctx, nameof(ctx));
        ModelVersions.CheckNotNewer(host, ctx, GetVersionInfo(), "DownscaleImages transform");
        ctx.CheckAtModel(GetVersionInfo());
        return new DownscaleImagesTransformer(host, ctx);
    }

    // Factory method for SignatureLoadDataTransform.
    private static IDataTransform Create(IHostEnvironment env, ModelLoadContext ctx, IDataView input)
        => Create(env, ctx).MakeDataTransform(input);

    // Factory method for SignatureLoadRowMapper.
    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    private DownscaleImagesTransformer(IHost host, ModelLoadContext ctx)
        : base(host, ctx)
    {
        // See SaveModel for the binary format.
        int scale = ctx.Reader.ReadInt32();
        host.CheckDecode(scale is >= 1 and <= 8, "Scale out of range 1..8.");
        Scale = scale;
    }

    private protected override MLImage Map(RgbImage input, Func<string> where)
    {
        if (input.Width < Scale || input.Height < Scale)
            throw BadRowError.Create($"{where()} is {input.Width}x{input.Height}, smaller than the scale {Scale}: nothing is left to downscale.");
        return Scale == 1 ? input.ToMLImage() : MatlabImresize.Downscale(input.CropToMultipleOf(Scale), Scale).ToMLImage();
    }
}

/// <summary>Estimator of <see cref="DownscaleImagesTransformer"/> (nothing to learn: fitting only checks the schema).</summary>
/// <remarks>
/// Estimator characteristics:
/// <list type="bullet">
/// <item><description>Needs training: no.</description></item>
/// <item><description>Input column: <see cref="MLImage"/>, any size at least <c>scale</c> pixels wide and high.</description></item>
/// <item><description>Output column: <see cref="MLImage"/> (BGRA32), the input cropped to a multiple of <c>scale</c> and divided by it.</description></item>
/// <item><description>Saved and loaded with <c>mlContext.Model.Save</c> / <c>Load</c>; not exportable with ML.NET's <c>ConvertToOnnx</c>.</description></item>
/// </list>
/// </remarks>
public sealed class DownscaleImagesEstimator : IEstimator<DownscaleImagesTransformer>
{
    private readonly IHost _host;
    private readonly DownscaleImagesTransformer _transformer;

    internal DownscaleImagesEstimator(IHostEnvironment env, string outputColumnName, string inputColumnName, int scale)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(DownscaleImagesEstimator));
        _transformer = new DownscaleImagesTransformer(env, outputColumnName, inputColumnName, scale);
    }

    /// <summary>Returns the transformer after checking that the input column is an image column.</summary>
    public DownscaleImagesTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        ImageColumns.Check(_host, input.Schema, _transformer.InputColumnName, "input");
        return _transformer;
    }

    /// <summary>Adds the output image column to the schema.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => ImageColumns.WithImageOutput(_host, inputSchema, _transformer.OutputColumnName, (_transformer.InputColumnName, "input"));
}
