using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.SuperResolution;
using MLNet.SuperResolution.Architectures;
using MLNet.SuperResolution.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Benchmarks;

/// <summary>
/// <c>TorchCompare device-check --device cuda --dir DIR</c>: what a GPU user relies on, checked on that GPU (needs a CUDA
/// libtorch backend). Every architecture of the zoo (Notes preset; FSRCNN's Y tail at x2 and x4 too): the forward on the device against the CPU with the
/// same weights (TF32 off, then on as libtorch defaults), and two training steps on the device (finite loss and
/// gradients, weights moved); then the public pipeline with <c>Device = "cuda"</c>: training, Evaluate, Save, Load,
/// and the upscaler on the device against the CPU (plain, tiled, bfloat16). Prints one line per check and returns the
/// number of failed checks.
/// </summary>
internal static class DeviceCheck
{
    private static int _failures;

    public static int Run(string deviceName, string dir)
    {
        Directory.CreateDirectory(dir);
        var clock = Stopwatch.StartNew();
        // The user's first call: the option is parsed (which loads the CUDA backend) before any tensor exists.
        Device device = TorchDevices.Parse(deviceName);
        Console.WriteLine($"device {device}: cuda available {cuda.is_available()}, {cuda.device_count()} device(s), cuDNN {cuda.is_cudnn_available()}; " +
                          $"cuDNN TF32 {backends.cudnn.allow_tf32}, matmul TF32 {backends.cuda.matmul.allow_tf32}");

        Zoo(device);
        Pipeline(deviceName, dir);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"device-check: {_failures} failure(s), {clock.Elapsed.TotalSeconds:F1} s"));
        return _failures;
    }

    private static void Check(bool ok, string what)
    {
        Console.WriteLine($"{(ok ? "PASS" : "FAIL")} {what}");
        if (!ok)
            _failures++;
    }

    /// <summary>Every architecture: device forward vs CPU forward, and training steps on the device.</summary>
    private static void Zoo(Device device)
    {
        bool tf32Default = backends.cudnn.allow_tf32;
        // Every architecture at its Notes preset, and FSRCNN's Y tail (a 1-channel transposed convolution, padded on the CPU only).
        var cases = NetworkFactory.All.Where(d => d.Architecture != SrArchitecture.Bicubic)
            .Select(d => (Descriptor: d, Preset: SrPreset.Notes, Channels: d.NotesChannels.NetworkChannels(), Scale: d.Scales.Contains(2) ? 2 : d.Scales[0]))
            .Concat(new[] { 2, 4 }.Select(s => (Descriptor: NetworkFactory.Describe(SrArchitecture.Fsrcnn), Preset: SrPreset.Paper, Channels: 1, Scale: s)));
        foreach (var (descriptor, preset, channels, scale) in cases)
        {
            var architecture = descriptor.Architecture;
            string name = $"{architecture}-{preset}-{(channels == 1 ? "Y" : "RGB")}-x{scale}";
            try
            {
                using var scope = NewDisposeScope();
                random.manual_seed(1);
                using var network = NetworkFactory.Create(architecture, scale, channels, descriptor.Options(preset));
                network.eval();
                var input = Measure.Random(5, 1, channels, 24, 20);
                Tensor onCpu;
                using (no_grad())
                    onCpu = network.forward(input);
                network.to(device);
                var inputOnDevice = input.to(device);
                double exact, tf32;
                backends.cudnn.allow_tf32 = false;
                backends.cuda.matmul.allow_tf32 = false;
                using (no_grad())
                    exact = (network.forward(inputOnDevice).cpu() - onCpu).abs().max().item<float>();
                backends.cudnn.allow_tf32 = tf32Default;
                using (no_grad())
                    tf32 = (network.forward(inputOnDevice).cpu() - onCpu).abs().max().item<float>();
                double range = onCpu.abs().max().item<float>();

                // Two training steps on the device (batch 2, HR 48): finite loss and gradients, the weights moved.
                var lowRes = Measure.Random(6, 2, channels, 48 / scale, 48 / scale).to(device);
                var highRes = Measure.Random(7, 2, channels, 48, 48).to(device);
                var first = network.parameters().First(p => p.requires_grad);
                var before = first.detach().cpu().clone();
                using var step = new TrainStep(network, learningRate: 1e-3);
                float loss0 = step.Run(lowRes, highRes), loss1 = step.Run(lowRes, highRes);
                bool gradsFinite = network.parameters().Where(p => p.grad is not null).All(p => p.grad!.isfinite().all().item<bool>());
                bool onDevice = network.parameters().All(p => p.device.type == device.type);
                double moved = (first.detach().cpu() - before).abs().max().item<float>();
                var optimizerSteps = ((MLNet.SuperResolution.Training.MultiTensor.Adam)step.Optimizer).StepCounts; // (2, 0): every parameter had a gradient
                bool ok = exact <= 1e-4 * Math.Max(1, range) && float.IsFinite(loss0) && float.IsFinite(loss1) && gradsFinite && onDevice && moved > 0
                    && optimizerSteps == (2, 0);
                Check(ok, string.Create(CultureInfo.InvariantCulture,
                    $"{name,-26} forward max|device - cpu| {exact:E1} (TF32 off), {tf32:E1} (TF32 {(tf32Default ? "on" : "off")}), output max {range:F2}; train losses {loss0:F4} {loss1:F4}, grads finite {gradsFinite}, weights moved {moved:E1}, Adam steps flat/per-parameter {optimizerSteps.Flat}/{optimizerSteps.Fallback}"));
            }
            catch (Exception e)
            {
                Check(false, $"{name}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>The public pipeline with Device = the device: train, evaluate, save, load, upscale; CPU for reference.</summary>
    private static void Pipeline(string deviceName, string dir)
    {
        string samples = Path.Combine(AppContext.BaseDirectory, "samples");
        var paths = Directory.GetFiles(samples).Where(p => p.EndsWith(".png", StringComparison.Ordinal) || p.EndsWith(".jpg", StringComparison.Ordinal)).OrderBy(p => p).ToArray();
        string held = paths.First(p => Path.GetFileName(p) == "chelsea.png");
        var train = paths.Where(p => p != held).ToArray();
        try
        {
            var ml = new MLContext(seed: 1);
            IDataView trainData = ml.Data.LoadFromEnumerable(train.Select(p => new PathRow { Path = p }));
            IDataView testData = ml.Data.LoadFromEnumerable(new[] { new PathRow { Path = held } });
            var degrade = ml.Transforms.LoadImages("HighRes", null, "Path").Append(ml.Transforms.DownscaleImages("LowRes", 2, "HighRes"));
            var clock = Stopwatch.StartNew();
            var model = degrade.Append(ml.Transforms.SuperResolution(new SuperResolutionOptions
            {
                Architecture = SrArchitecture.Espcn,
                Scale = 2,
                InputColumnName = "LowRes",
                LabelColumnName = "HighRes",
                OutputColumnName = "SuperRes",
                Epochs = 30,
                PatchesPerImage = 64,
                BatchSize = 16,
                PatchSize = 48,
                LearningRate = 1e-3,
                Device = deviceName,
            })).Fit(trainData);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var sr = (SuperResolutionTransformer)model.LastTransformer;
            var summary = sr.TrainingSummary!;
            var metrics = ml.SuperResolution().Evaluate(model.Transform(testData), 2, "HighRes", "SuperRes");
            var bicubic = ml.SuperResolution().Evaluate(
                degrade.Append(ml.Transforms.ApplySuperResolutionModel("SuperRes", "LowRes", SrArchitecture.Bicubic, scale: 2)).Fit(testData).Transform(testData),
                2, "HighRes", "SuperRes");
            Check(sr.DeviceName == deviceName && metrics.Psnr > bicubic.Psnr, string.Create(CultureInfo.InvariantCulture,
                $"pipeline: ESPCN x2 trained on {deviceName} in {trainSeconds:F1} s ({summary.Steps} steps, {summary.SkippedNonFiniteSteps} skipped as non-finite), held-out PSNR {metrics.Psnr:F3} dB vs bicubic {bicubic.Psnr:F3} dB, transformer device {sr.DeviceName}"));

            string zip = Path.Combine(dir, "espcn-device.zip");
            ml.Model.Save(model, trainData.Schema, zip);
            var loaded = new MLContext(seed: 1).Model.Load(zip, out _);
            var reloaded = ml.SuperResolution().Evaluate(loaded.Transform(testData), 2, "HighRes", "SuperRes");
            Check(Math.Abs(reloaded.Psnr - metrics.Psnr) < 1e-6, string.Create(CultureInfo.InvariantCulture,
                $"pipeline: saved and loaded in this process, PSNR {reloaded.Psnr:F6} dB (before {metrics.Psnr:F6}); zip {zip}"));

            using var image = SixLabors.ImageSharp.Image.Load<Rgba32>(held);
            Compare("trained model", SuperResolutionUpscaler.FromModelFile(zip, device: "cpu"), SuperResolutionUpscaler.FromModelFile(zip, device: deviceName), image, maxLevels: 1);
            Compare("default model", SuperResolutionUpscaler.FromDefaultModel(2, device: "cpu"), SuperResolutionUpscaler.FromDefaultModel(2, device: deviceName), image, maxLevels: 1);
            var tiled = new SrInferenceOptions { TileSize = 64 };
            Compare("default model tiled 64", SuperResolutionUpscaler.FromDefaultModel(2, tiled, "cpu"), SuperResolutionUpscaler.FromDefaultModel(2, tiled, deviceName), image, maxLevels: 1);
            var bf16 = new SrInferenceOptions { Precision = SrPrecision.BFloat16 };
            Compare("default model bfloat16 vs float32 cpu", SuperResolutionUpscaler.FromDefaultModel(2, device: "cpu"), SuperResolutionUpscaler.FromDefaultModel(2, bf16, deviceName), image, maxLevels: 8);
        }
        catch (Exception e)
        {
            Check(false, $"pipeline: {e.GetType().Name}: {e}");
        }
    }

    /// <summary>Upscales <paramref name="image"/> with both; the largest difference in 8-bit levels, and the timings.</summary>
    private static void Compare(string what, SuperResolutionUpscaler reference, SuperResolutionUpscaler candidate, Image<Rgba32> image, int maxLevels)
    {
        using (reference)
        using (candidate)
        {
            using var expected = reference.Upscale(image);
            candidate.Upscale(image).Dispose(); // warm-up (cuDNN's algorithm choice, the receptive field)
            var clock = Stopwatch.StartNew();
            using var actual = candidate.Upscale(image);
            double ms = clock.Elapsed.TotalMilliseconds;
            int worst = 0;
            long differing = 0;
            for (int y = 0; y < expected.Height; y++)
            {
                for (int x = 0; x < expected.Width; x++)
                {
                    Rgba32 a = expected[x, y], b = actual[x, y];
                    int d = Math.Max(Math.Abs(a.R - b.R), Math.Max(Math.Abs(a.G - b.G), Math.Abs(a.B - b.B)));
                    worst = Math.Max(worst, d);
                    if (d > 0)
                        differing++;
                }
            }

            bool sameSize = expected.Width == actual.Width && expected.Height == actual.Height;
            Check(sameSize && worst <= maxLevels, string.Create(CultureInfo.InvariantCulture,
                $"upscaler {what}: {actual.Width}x{actual.Height}, max difference {worst} level(s) (allowed {maxLevels}), {differing} pixel(s) differ, {ms:F1} ms on the device"));
        }
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = string.Empty;
    }
}
