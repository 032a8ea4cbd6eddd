using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Imaging;
using MLNet.SuperResolution.Inference;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// The pipeline measurement: a fitted super-resolution transformer's <c>Transform</c> plus a cursor reading its output
/// column for N in-memory LR images, against the raw network forward on the same images' tensors, in the layout the
/// pipeline runs the network in (channels-last on the CPU by default). The difference is what the ML.NET component
/// costs on top of the network (image to tensor and layout, colour conversion for Y networks, the 8-bit output image).
/// </summary>
internal sealed class PipelineBench : IDisposable
{
    private readonly MLContext _ml = new(seed: 1);
    private readonly SuperResolutionTransformer _transformer;
    private readonly SrUpscaler _upscaler;
    private readonly IDataView _images;
    private readonly List<RgbImage> _crops = [];
    private readonly List<ImageRow> _rows = [];
    private readonly List<Tensor> _tensors = [];

    /// <summary>
    /// Cuts <paramref name="count"/> LR crops of <paramref name="size"/> x <paramref name="size"/> from the bundled
    /// samples (in <c>samples/</c> beside the app) and builds the case's network with seeded random weights.
    /// </summary>
    public PipelineBench(BenchCase benchCase, int count, int size = ImageRow.ImageSize)
    {
        if (size != ImageRow.ImageSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"The pipeline measurement uses {ImageRow.ImageSize}x{ImageRow.ImageSize} images.");
        Case = benchCase;
        Network = benchCase.Build();
        _upscaler = new SrUpscaler(benchCase.Architecture, benchCase.Scale, benchCase.Channels, Network, CPU);
        _transformer = new SuperResolutionTransformer(_ml, "SuperRes", "LowRes", _upscaler,
            NetworkFactory.ResolveOptions(benchCase.Architecture, benchCase.Preset, null), "cpu", "cpu", trainingSummary: null);
        string[] samples = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "brick.png", "grass.png"];
        for (int i = 0; i < count; i++)
        {
            using var photo = MLImage.CreateFromFile(Path.Combine(AppContext.BaseDirectory, "samples", samples[i % samples.Length]));
            var rgb = RgbImage.FromMLImage(photo);
            int left = (i * 37) % Math.Max(1, rgb.Width - size), top = (i * 23) % Math.Max(1, rgb.Height - size);
            var crop = Crop(rgb, left, top, size);
            _crops.Add(crop);
            _rows.Add(new ImageRow { LowRes = crop.ToMLImage() }); // the caller's images: transforms read them, never dispose them
            using var scope = NewDisposeScope();
            var tensor = ImageTensors.ToTensor(crop);
            if (benchCase.Channels == SrChannels.Y)
                tensor = ColorSpace.RgbToYCbCr(tensor).narrow(1, 0, 1).contiguous();
            if (_upscaler.Inference.UsesChannelsLast(TorchSharp.DeviceType.CPU))
                tensor = MemoryLayout.ToChannelsLast(tensor); // the raw forward in the pipeline's layout
            _tensors.Add(tensor.DetachFromDisposeScope());
        }

        _images = _ml.Data.LoadFromEnumerable(_rows);
    }

    /// <summary>The measured configuration.</summary>
    public BenchCase Case { get; }

    /// <summary>The network (eval mode, owned by the transformer).</summary>
    public SrNetwork Network { get; }

    /// <summary>Transform, then read every output image through a cursor (each disposed after reading).</summary>
    public void RunPipeline()
    {
        var output = _transformer.Transform(_images);
        var column = output.Schema["SuperRes"];
        using var cursor = output.GetRowCursor([column]);
        var getter = cursor.GetGetter<MLImage>(column);
        MLImage image = null!;
        while (cursor.MoveNext())
        {
            getter(ref image);
            image.Dispose();
        }
    }

    /// <summary>
    /// Per image, interleaved so that every part sees the same machine and heap state: reading the LR image out of its
    /// MLImage, <see cref="SrUpscaler.UpscaleToMLImage"/> (what the transformer does per row), the raw forward, and per
    /// image of a whole <see cref="RunPipeline"/> after each round; for Y networks also the colour path's steps
    /// (Y and Cb/Cr from the bytes, network on Y, the bicubic Cb/Cr fused with the 8-bit write). Milliseconds per image.
    /// </summary>
    public List<(string Name, List<double> Ms)> TimeParts(int warmup, int reps)
    {
        var parts = new List<(string Name, List<double> Ms)>();
        void Add(string name, double ms, bool measured)
        {
            int index = parts.FindIndex(p => p.Name == name);
            if (index < 0)
            {
                parts.Add((name, []));
                index = parts.Count - 1;
            }

            if (measured)
                parts[index].Ms.Add(ms);
        }

        var watch = new System.Diagnostics.Stopwatch();
        double Lap()
        {
            double ms = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            return ms;
        }

        for (int r = 0; r < warmup + reps; r++)
        {
            bool measured = r >= warmup;
            for (int i = 0; i < _rows.Count; i++)
            {
                watch.Restart();
                var rgb = RgbImage.FromMLImage(_rows[i].LowRes!);
                Add("read MLImage", Lap(), measured);
                using (var image = _upscaler.UpscaleToMLImage(rgb))
                    Add("upscale to MLImage", Lap(), measured);
                Measure.Forward(Network, _tensors[i]);
                Add("raw forward", Lap(), measured);
                if (Case.Channels == SrChannels.Y)
                    TimeColourSteps(i, Add, Lap, measured);
            }

            watch.Restart();
            RunPipeline();
            Add("Transform + read, per image", watch.Elapsed.TotalMilliseconds / _rows.Count, measured);
        }

        return parts;
    }

    private void TimeColourSteps(int i, Action<string, double, bool> add, Func<double> lap, bool measured)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        lap();
        var crop = _crops[i];
        var luma = ImageTensors.ToLuma(crop, 0, 0, crop.Width, crop.Height, CPU, out var chroma);
        add("  Y and LR Cb/Cr from bytes", lap(), measured);
        using (chroma)
        {
            var y = Network.forward(luma);
            add("  network on Y", lap(), measured);
            ImageTensors.WriteFromLuma(y, chroma, Case.Scale, (_, _, _, _, _) => { }, 0, 0);
            add("  bicubic Cb/Cr + 8-bit RGB", lap(), measured);
        }
    }

    /// <summary>The raw network forward on each image's tensor (RGB, or the Y channel for Y networks).</summary>
    public void RunRawForward()
    {
        foreach (var tensor in _tensors)
            Measure.Forward(Network, tensor);
    }

    public void Dispose()
    {
        _transformer.Dispose();
        foreach (var row in _rows)
            row.LowRes?.Dispose();
        foreach (var tensor in _tensors)
            tensor.Dispose();
    }

    private static RgbImage Crop(RgbImage image, int left, int top, int size)
    {
        int width = Math.Min(size, image.Width), height = Math.Min(size, image.Height);
        if (width != size || height != size)
            throw new InvalidOperationException($"A {image.Width}x{image.Height} sample is smaller than {size}x{size}.");
        var planes = new byte[3 * size * size];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < size; y++)
                Array.Copy(image.Planes, c * image.PlaneSize + (top + y) * image.Width + left, planes, c * size * size + y * size, size);
        return new RgbImage(size, size, planes);
    }

    /// <summary>A row of the in-memory input: one LR image.</summary>
    private sealed class ImageRow
    {
        /// <summary>The LR side (the column's image type is declared by an attribute, so it is a constant).</summary>
        public const int ImageSize = 256;

        [ImageType(ImageSize, ImageSize)]
        public MLImage? LowRes { get; set; }
    }
}
