using Microsoft.ML.Data;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Architectures.Blocks;
using MLNet.SuperResolution.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Inference;

/// <summary>
/// Runs a super-resolution model on one 8-bit image: RGB networks see RGB; Y networks see the BT.601 Y channel and
/// their output is combined with the bicubic-upscaled Cb and Cr of the input (the protocol's step 5). Bicubic is
/// MATLAB's 8-bit <c>imresize</c> itself. Alpha, when present, is upscaled with bicubic. No ML.NET types here.
/// The network's forward pass alone is tiled and/or self-ensembled (<see cref="SrInferenceOptions"/>); the bicubic
/// Cb/Cr of Y networks is computed per tile (from the tile's LR Cb/Cr with context) as each output row is written.
/// </summary>
internal sealed class SrUpscaler : IDisposable
{
    /// <summary>
    /// A runner for <paramref name="network"/> (null for Bicubic) on <paramref name="device"/> with
    /// <paramref name="inference"/> (copied). <paramref name="ownsNetwork"/>: whether <see cref="Dispose"/> disposes the
    /// network; false for a second runner over a network that another upscaler owns (what this runner makes itself,
    /// such as its bfloat16 copy, it always disposes). <paramref name="nativeBFloat16"/>: whether the CPU computes
    /// bfloat16 natively; null (default) detects it (<see cref="CpuFeatures.NativeBFloat16"/>; tests force the bfloat16
    /// path on any CPU with true).
    /// </summary>
    public SrUpscaler(SrArchitecture architecture, int scale, SrChannels channels, SrNetwork? network, Device device,
        SrInferenceOptions? inference = null, bool ownsNetwork = true, bool? nativeBFloat16 = null)
    {
        _ownsNetwork = ownsNetwork;
        Inference = inference?.Clone() ?? new SrInferenceOptions();
        Inference.Validate(nameof(inference));
        if (architecture != SrArchitecture.Bicubic && network is null)
            throw new ArgumentNullException(nameof(network), $"{architecture} needs a network.");
        if (network is not null && network.Channels != channels.NetworkChannels())
            throw new ArgumentException($"The network takes {network.Channels} channel(s) but {channels} means {channels.NetworkChannels()}.", nameof(channels));
        Architecture = architecture;
        Scale = scale;
        Channels = channels;
        Network = network;
        Device = device;
        Network?.to(device).eval();
        Precision = EffectivePrecision(Inference.Precision, device.type, nativeBFloat16 ?? CpuFeatures.NativeBFloat16);
        if (network is not null && Precision == SrPrecision.BFloat16)
            _bfloat16 = new Lazy<SrNetwork>(() => ReducedPrecisionCopy(network, ScalarType.BFloat16));
    }

    /// <summary>
    /// The precision the network runs in: the options' <see cref="SrInferenceOptions.Precision"/>, except bfloat16 on a
    /// CPU without native bfloat16 (<see cref="CpuFeatures.NativeBFloat16"/>), which runs float32 (see <see cref="PrecisionFallback"/>).
    /// </summary>
    public SrPrecision Precision { get; }

    /// <summary>Why the network runs float32 although the options ask for bfloat16; null when it runs what they ask (or for Bicubic, which has no network).</summary>
    public string? PrecisionFallback => Precision == Inference.Precision || Network is null ? null :
        "bfloat16 inference was requested, but this CPU has no native bfloat16 instructions (AVX-512 BF16 or AMX-BF16), " +
        "where libtorch's bfloat16 convolutions are 8-240x slower than float32; the network runs in float32 instead.";

    /// <summary>What <paramref name="requested"/> becomes on <paramref name="device"/>: float32 for bfloat16 on a CPU without <paramref name="nativeBFloat16"/>.</summary>
    internal static SrPrecision EffectivePrecision(SrPrecision requested, DeviceType device, bool nativeBFloat16)
        => requested == SrPrecision.BFloat16 && device == DeviceType.CPU && !nativeBFloat16 ? SrPrecision.Float32 : requested;

    /// <summary>The network's bfloat16 copy, made on first use (thread-safe); null unless it runs in bfloat16 (<see cref="Precision"/>).</summary>
    private readonly Lazy<SrNetwork>? _bfloat16;

    private readonly bool _ownsNetwork;

    public SrArchitecture Architecture { get; }

    public int Scale { get; }

    public SrChannels Channels { get; }

    /// <summary>The network; null for <see cref="SrArchitecture.Bicubic"/>.</summary>
    public SrNetwork? Network { get; }

    public Device Device { get; }

    /// <summary>Tiling, self-ensemble, layout and precision (this upscaler's own copy).</summary>
    public SrInferenceOptions Inference { get; }

    /// <summary>Upscales an image by <see cref="Scale"/>; thread-safe (inference only, no shared mutable state).</summary>
    public RgbImage Upscale(RgbImage lowRes)
    {
        ThrowIfDisposed();
        if (Network is null)
            return MatlabImresize.Upscale(lowRes, Scale);
        var (width, height) = OutputSize(lowRes);
        var planes = new byte[BufferLength(width, height, 3)];
        var alpha = UpscaleInto(lowRes, new PlanarRgbWriter(planes, width, height).Write);
        return new RgbImage(width, height, planes, alpha);
    }

    /// <summary>
    /// Upscales an image into a new BGRA32 <see cref="MLImage"/> (the layout <c>LoadImages</c> makes), alpha kept: the
    /// output is assembled in the image's own pixel buffer, with no planar copy in between. Thread-safe.
    /// </summary>
    public MLImage UpscaleToMLImage(RgbImage lowRes)
    {
        ThrowIfDisposed();
        var (width, height) = OutputSize(lowRes);
        int length = BufferLength(width, height, 4);
        // A pooled buffer: MLImage copies the pixels into its own bitmap, so a fresh (zeroed) array per image is waste.
        using var pixels = new PooledArray<byte>(length);
        var writer = new Bgra32Writer(pixels.Array, width, height);
        if (UpscaleInto(lowRes, writer.Write) is { } alpha)
            writer.SetAlpha(alpha);
        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, pixels.Span);
    }

    /// <summary>Bytes of a <paramref name="width"/> x <paramref name="height"/> output at <paramref name="bytesPerPixel"/>, or why one array cannot hold them.</summary>
    private static int BufferLength(int width, int height, int bytesPerPixel)
        => (long)bytesPerPixel * width * height <= Array.MaxLength ? bytesPerPixel * width * height
            : throw new InvalidOperationException($"The {width}x{height} output is too large for one image buffer.");

    /// <summary>The output size of an LR image: its size times <see cref="Scale"/>.</summary>
    public (int Width, int Height) OutputSize(RgbImage lowRes) => (checked(lowRes.Width * Scale), checked(lowRes.Height * Scale));

    /// <summary>
    /// Upscales an image into the caller's output buffer: <paramref name="writeRgb"/> receives the 8-bit RGB of every
    /// pixel of the <see cref="OutputSize"/> output exactly once, region by region (one region, or one per tile), and
    /// the upscaled alpha plane is returned (null when <paramref name="lowRes"/> has none) for the caller to put in.
    /// The bytes are those of <see cref="Upscale"/>, which is this method writing into planar bytes; the output is
    /// never held twice, nor as floats when tiled. Thread-safe.
    /// </summary>
    public byte[]? UpscaleInto(RgbImage lowRes, RgbRegionWriter writeRgb)
    {
        ThrowIfDisposed();
        if (Network is null)
        {
            var bicubic = MatlabImresize.Upscale(lowRes, Scale);
            writeRgb(bicubic.Planes, 0, 0, bicubic.Width, bicubic.Height);
            return bicubic.Alpha;
        }

        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            if (Channels != SrChannels.Rgb)
                UpscaleLumaInto(lowRes, writeRgb);
            else if (TilePlan(lowRes.Height, lowRes.Width) is not { } plan)
                ImageTensors.Write(NetworkForward()(ImageTensors.ToTensor(lowRes, Device)), writeRgb, 0, 0);
            else
                // Tiled: each tile is read from the 8-bit input and its output goes straight into the caller's buffer,
                // so neither the input nor the output of a large image is ever held as floats (a 4000x3000 photo at x4
                // would be 2.3 GB per float copy of the output).
                TiledInference.ForEachCore(NetworkForward(), lowRes.Height, lowRes.Width,
                    (left, top, width, height) => ImageTensors.ToTensor(lowRes, left, top, width, height, Device),
                    Scale, plan.TileSize, plan.Overlap, (core, left, top) => ImageTensors.Write(core, writeRgb, left, top));
        }

        return lowRes.Alpha is null ? null : MatlabImresize.UpscalePlane(lowRes.Alpha, lowRes.Width, lowRes.Height, Scale);
    }

    /// <summary>
    /// A Y network's upscale (protocol step 5): the network runs on Y (read from the 8-bit pixels together with the LR
    /// Cb/Cr, <see cref="ImageTensors.ToLuma"/>), and the write upscales Cb/Cr with bicubic row by row and converts back
    /// to RGB (<see cref="ImageTensors.WriteFromLuma"/>). Tiled, each tile keeps its own Cb/Cr with at least
    /// <see cref="MatlabImresize.UpscaleReach"/> LR pixels of context, so that its bicubic equals the whole image's.
    /// </summary>
    private void UpscaleLumaInto(RgbImage lowRes, RgbRegionWriter writeRgb)
    {
        var forward = NetworkForward();
        bool fullRange = Channels == SrChannels.Gray;
        if (TilePlan(lowRes.Height, lowRes.Width) is not { } plan)
        {
            using var luma = ImageTensors.ToLuma(lowRes, 0, 0, lowRes.Width, lowRes.Height, Device, out var chroma, fullRange);
            using (chroma)
                ImageTensors.WriteFromLuma(forward(luma), chroma, Scale, writeRgb, 0, 0, fullRange);
            return;
        }

        ChromaPlanes? tileChroma = null; // the current tile's, from its read to its write
        try
        {
            TiledInference.ForEachCore(forward, lowRes.Height, lowRes.Width,
                (left, top, width, height) =>
                {
                    tileChroma?.Dispose();
                    tileChroma = null;
                    return ImageTensors.ToLuma(lowRes, left, top, width, height, Device, out tileChroma, fullRange);
                },
                Scale, plan.TileSize, Math.Max(plan.Overlap, MatlabImresize.UpscaleReach),
                (core, left, top) => ImageTensors.WriteFromLuma(core, tileChroma!, Scale, writeRgb, left, top, fullRange));
        }
        finally
        {
            tileChroma?.Dispose();
        }
    }

    /// <summary>
    /// The network's output for an LR batch in its own channels (RGB, or one luma channel), tiled when <see cref="TilePlan"/> says
    /// so and self-ensembled per tile when asked, as a float tensor: the tensor-level form of <see cref="Upscale"/>,
    /// which the tiling and self-ensemble tests compare with whole-image forward passes.
    /// </summary>
    internal Tensor Forward(Tensor lowRes)
    {
        var forward = NetworkForward();
        return TilePlan((int)lowRes.shape[2], (int)lowRes.shape[3]) is { } plan
            ? TiledInference.Forward(forward, lowRes, Scale, plan.TileSize, plan.Overlap)
            : forward(lowRes);
    }

    /// <summary>
    /// The network's forward pass on float32 [N, C, h, w]: in bfloat16 and channels-last when the options ask for them,
    /// and self-ensembled when asked.
    /// </summary>
    private Func<Tensor, Tensor> NetworkForward()
    {
        var network = Network ?? throw new InvalidOperationException("Bicubic has no network forward pass.");
        Func<Tensor, Tensor> forward = network.forward;
        if (_bfloat16 is not null)
        {
            var reduced = _bfloat16.Value;
            forward = x => reduced.forward(x.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        }

        if (Inference.UsesChannelsLast(Device.type))
        {
            // NHWC strides on the input; oneDNN's convolutions keep the layout through the network (pre-upsampling
            // networks keep it through their interpolation: PreUpsampling.Apply).
            var nchw = forward;
            forward = x => nchw(MemoryLayout.ToChannelsLast(x));
        }

        var plain = forward;
        return Inference.SelfEnsemble ? x => SelfEnsemble.Forward(plain, x) : plain;
    }

    /// <summary>A copy of <paramref name="network"/> with its parameters and buffers in <paramref name="dtype"/>, in eval mode on <see cref="Device"/>.</summary>
    private SrNetwork ReducedPrecisionCopy(SrNetwork network, ScalarType dtype)
    {
        var copy = network.Rebuild?.Invoke()
            ?? throw new InvalidOperationException($"{Architecture} was not built by NetworkFactory, so no {dtype} copy can be made; use SrPrecision.Float32.");
        try
        {
            using (var scope = NewDisposeScope())
            using (var noGrad = no_grad())
            {
                var source = network.state_dict();
                foreach (var (name, value) in copy.state_dict())
                    value.copy_(source[name]);
            }

            copy.to(dtype).to(Device).eval();
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// How an LR image of this size is tiled: null for one whole-image pass (no network, or automatic tiling and the
    /// image within <see cref="SrInferenceOptions.MaxUntiledPixels"/>). The overlap defaults to the network's
    /// receptive field (<see cref="ReceptiveField"/>); the automatic tile keeps a tile with its context within the
    /// pixel budget, scaled by 2/scale above x2: sqrt(budget) * min(1, 2/scale) - 2 overlap, at least
    /// <see cref="SrInferenceOptions.MinTileSize"/>.
    /// </summary>
    internal (int TileSize, int Overlap)? TilePlan(int height, int width)
    {
        if (Network is null)
            return null;
        bool automatic = Inference.TileSize is null or 0;
        if (automatic && (long)height * width <= Inference.MaxUntiledPixels)
            return null;
        int overlap = Inference.TileOverlap ?? ReceptiveField.Of(Network, Device).DefaultOverlap;
        // A tile with its context spans sqrt(budget) LR pixels at x2 and proportionally fewer above (2/scale), so the
        // high-resolution activations of post-upsampling networks stay the size of a x2 tile's: at x4 the default
        // 512-pixel context would hold 1 GB per 256-channel EDSR upsampler activation, 256 pixels hold 268 MB.
        int context = (int)(Math.Sqrt(Inference.MaxUntiledPixels) * Math.Min(1.0, 2.0 / Scale));
        int tile = automatic
            ? Math.Max(SrInferenceOptions.MinTileSize, context - 2 * overlap)
            : Inference.TileSize!.Value;
        return (tile, overlap);
    }

    /// <summary>Whether <see cref="Dispose"/> has run: the network's tensors may be gone.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>
    /// Throws a clear <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>: a disposed network would run on
    /// freed tensors, or save no weights.
    /// </summary>
    public void ThrowIfDisposed()
    {
        if (IsDisposed)
            throw new ObjectDisposedException(nameof(SuperResolutionTransformer),
                "This super-resolution model was disposed, with its network: it can no longer upscale or be saved. A PredictionEngine " +
                "disposes the model it was made from when it is disposed; to keep using the model, create the engine with " +
                "new PredictionEngineOptions { OwnsTransformer = false }, or load the model again.");
    }

    public void Dispose()
    {
        IsDisposed = true;
        if (_ownsNetwork)
            Network?.Dispose();
        if (_bfloat16 is { IsValueCreated: true })
            _bfloat16.Value.Dispose();
    }
}
