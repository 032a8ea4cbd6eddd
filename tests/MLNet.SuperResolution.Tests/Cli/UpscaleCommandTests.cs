using Microsoft.ML.Data;
using MLNet.SuperResolution.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MLNet.SuperResolution.Tests.Cli;

/// <summary><c>sr upscale</c> as users run it: folders, patterns, single files, bad files listed with exit code 1.</summary>
public sealed class UpscaleCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestImages _images = new();

    public void Dispose() => _images.Dispose();

    private (int ExitCode, string Stdout, string Stderr) Sr(params string[] arguments) => SrTool.Run(output, arguments);

    private string Folder(string name)
    {
        string folder = Path.Combine(_images.Directory, name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Fact]
    public void Folder_WithABadFile_UpscalesTheRest_ListsTheBadOne_AndExitsOne()
    {
        string input = Folder("in");
        File.Copy(_images.Crop("coffee.png", 20, 16, 200, 150), Path.Combine(input, "coffee.png"));
        File.Copy(_images.Crop("astronaut.png", 18, 14, 100, 100), Path.Combine(input, "astronaut.png"));
        File.WriteAllText(Path.Combine(input, "broken.png"), "not a picture");
        File.WriteAllText(Path.Combine(input, "notes.txt"), "ignored: not an image extension");
        string outFolder = Path.Combine(_images.Directory, "out");

        var (code, stdout, stderr) = Sr("upscale", input, "--arch", "bicubic", "--scale", "2", "-o", outFolder);

        Assert.Equal(1, code);
        Assert.Contains("Done: 2 of 3 file(s)", stdout);
        Assert.Contains("1 file(s) failed:", stderr);
        Assert.Contains("broken.png", stderr);
        Assert.Contains("is not an image in a supported format", stderr);
        Assert.Equal(new[] { "astronaut-x2.png", "coffee-x2.png" }, Directory.GetFiles(outFolder).Select(Path.GetFileName).Order().ToArray());
        using var written = MLImage.CreateFromFile(Path.Combine(outFolder, "coffee-x2.png"));
        using var source = MLImage.CreateFromFile(Path.Combine(input, "coffee.png"));
        Assert.Equal(MatlabImresize.Upscale(RgbImage.FromMLImage(source), 2).Planes, RgbImage.FromMLImage(written).Planes);
    }

    [Fact]
    public void SingleFile_ToAnOutputFile_AndAPattern_ExitZero()
    {
        string input = Folder("pattern");
        File.Copy(_images.Crop("coffee.png", 20, 16, 200, 150), Path.Combine(input, "a.png"));
        File.Copy(_images.Crop("chelsea.png", 20, 16, 100, 100), Path.Combine(input, "b.png"));
        File.Copy(_images.Crop("brick.png", 20, 16), Path.Combine(input, "c.bmp.png.keep"));

        string single = Path.Combine(_images.Directory, "single.jpg");
        var (code, _, _) = Sr("upscale", Path.Combine(input, "a.png"), "--arch", "Bicubic", "--scale", "3", "-o", single);
        Assert.Equal(0, code);
        Assert.Equal((60, 48), (Image.Identify(single).Width, Image.Identify(single).Height));

        string outFolder = Path.Combine(_images.Directory, "webp");
        (code, var stdout, _) = Sr("upscale", Path.Combine(input, "*.png"), "--arch", "Bicubic", "--scale", "2", "--format", "webp", "-o", outFolder);
        Assert.Equal(0, code);
        Assert.Contains("Done: 2 of 2 file(s)", stdout);
        Assert.Equal(new[] { "a-x2.webp", "b-x2.webp" }, Directory.GetFiles(outFolder).Select(Path.GetFileName).Order().ToArray());
    }

    [Fact]
    public void TileAndSelfEnsembleOptions_Run()
    {
        string input = _images.Crop("coffee.png", 30, 20, 200, 150);
        string output = Path.Combine(_images.Directory, "tiled.png");
        var (code, stdout, _) = Sr("upscale", input, "--arch", "Bicubic", "--scale", "2", "--tile", "8", "--overlap", "2", "--self-ensemble", "-o", output);
        Assert.Equal(0, code);
        Assert.Contains("Done: 1 of 1 file(s)", stdout);
        Assert.Equal(60, Image.Identify(output).Width);
        (code, var both, var errors) = Sr("upscale", input, "--arch", "Bicubic", "--scale", "2", "--tile", "4");
        Assert.NotEqual(0, code);
        Assert.Contains("--tile must be at least 8", both + errors);
    }

    [Fact]
    public void LayoutOptions_NchwAndChannelsLast_GiveTheDefaultResultWithinOneLevel()
    {
        // The CPU default is channels-last; --nchw forces the contiguous layout, --channels-last states the default.
        string input = _images.Crop("coffee.png", 30, 20, 40, 32); // 30 x 20 at (40, 32)
        var outputs = new Dictionary<string, Image<Rgb24>>();
        foreach (string layout in new[] { "", "--nchw", "--channels-last" })
        {
            string output = Path.Combine(_images.Directory, $"layout{layout}.png");
            var arguments = new List<string> { "upscale", input, "--scale", "2", "-o", output };
            if (layout.Length > 0)
                arguments.Add(layout);
            var (code, stdout, _) = Sr(arguments.ToArray());
            Assert.Equal(0, code);
            Assert.Contains("Done: 1 of 1 file(s)", stdout);
            outputs[layout] = Image.Load<Rgb24>(output);
        }

        int maxDifference = 0;
        Assert.Equal((60, 40), (outputs[""].Width, outputs[""].Height));
        for (int y = 0; y < 40; y++)
        for (int x = 0; x < 60; x++)
        {
            Rgb24 a = outputs[""][x, y], b = outputs["--nchw"][x, y], c = outputs["--channels-last"][x, y];
            Assert.Equal(a, c);
            maxDifference = Math.Max(maxDifference, Math.Max(Math.Abs(a.R - b.R), Math.Max(Math.Abs(a.G - b.G), Math.Abs(a.B - b.B))));
        }

        Assert.True(maxDifference <= 1, $"channels-last and NCHW differ by {maxDifference} levels");
        foreach (var image in outputs.Values)
            image.Dispose();
    }

    [Theory]
    [InlineData(new[] { "upscale", "{in}", "--model", "{in}", "--arch", "Bicubic", "--scale", "2" }, "Give either --model model.zip or --arch A [--weights file], not both")]
    [InlineData(new[] { "upscale", "{in}", "--scale", "5" }, "No default weights for --scale 5")]
    [InlineData(new[] { "upscale", "{in}", "--model", "{dir}/missing.zip" }, "Model file not found")]
    [InlineData(new[] { "upscale", "{in}", "--arch", "Fsrcnn", "--scale", "2" }, "Fsrcnn needs --weights")]
    [InlineData(new[] { "upscale", "{in}", "--arch", "Bicubic" }, "--arch needs --scale")]
    [InlineData(new[] { "upscale", "{dir}/nothing-here.png", "--arch", "Bicubic", "--scale", "2" }, "Input not found")]
    [InlineData(new[] { "upscale", "{in}", "--arch", "Bicubic", "--scale", "2", "--format", "gif" }, "Unknown --format 'gif'")]
    [InlineData(new[] { "upscale", "{in}", "--scale", "2", "--device", "tpu" }, "Unknown --device 'tpu'; use cpu, cuda or cuda:N")]
    [InlineData(new[] { "upscale", "{in}", "--scale", "2", "--channels-last", "--nchw" }, "Give --channels-last or --nchw, not both")]
    [InlineData(new[] { "upscale", "{in}", "--scale", "2", "--self-ensamble" }, "unknown option '--self-ensamble' for 'sr upscale'. Did you mean '--self-ensemble'?")]
    [InlineData(new[] { "upscale", "{in}", "--modle", "{in}" }, "Did you mean '--model'?")]
    public void InvalidArguments_ExitNonZeroWithAReason(string[] arguments, string message)
    {
        string input = _images.Crop("coffee.png", 20, 16);
        var (code, stdout, stderr) = Sr(arguments.Select(a => a.Replace("{in}", input).Replace("{dir}", _images.Directory)).ToArray());
        Assert.NotEqual(0, code);
        Assert.Contains(message, stdout + stderr);
    }

    [SkippableFact]
    public void DeviceCuda_WithoutACudaBackend_SaysWhatToReference()
    {
        Skip.If(TorchSharp.torch.cuda.is_available(), "CUDA is available here; the message is for machines without it.");
        string input = _images.Crop("coffee.png", 20, 16);
        var (code, stdout, stderr) = Sr("upscale", input, "-o", Path.Combine(_images.Directory, "cuda.png"), "--scale", "2", "--device", "cuda");
        Assert.NotEqual(0, code);
        Assert.Contains("CUDA is not available to TorchSharp", stdout + stderr);
        Assert.Contains("libtorch-cuda", stdout + stderr);
    }
}
