using System.Reflection;
using MLNet.SuperResolution.Cli;
using MLNet.SuperResolution.Cli.Commands;
using MLNet.SuperResolution.Inference;
using Spectre.Console.Cli;

// A tool process runs networks on a few image sizes: let glibc reuse freed activation buffers instead of faulting fresh
// pages for each (10-20% faster, and no slow processes; docs/performance.md). Environment settings take precedence.
NativeHeap.PreferReuse();

// Piped or redirected output is a log: no wrapping at an assumed 80 columns (paths and table rows stay whole).
if (Console.IsOutputRedirected)
    Spectre.Console.AnsiConsole.Profile.Width = 4096;

// The first Ctrl+C asks the command to stop where it can (between files, after a training step, with a checkpoint),
// say what was done and how to go on, and exit 130; a second one ends the process at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested)
        return;
    e.Cancel = true;
    Console.Error.WriteLine("Interrupt: stopping after the current file or training step (Ctrl+C again stops at once).");
    interrupt.Cancel();
};

var errors = new CliErrors(SrCommands.SettingsByCommand, Console.Error);

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("sr");
    config.SetApplicationVersion(typeof(MLNet.SuperResolution.SuperResolutionUpscaler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown");
    config.UseStrictParsing(); // an unknown option is an error, never dropped (a mistyped --model would run the default model)
    config.SetExceptionHandler((exception, _) => errors.Handle(exception, args)); // stderr, "error: ...", exit 2 for usage
    config.CancellationExitCode(ExitCodes.Interrupted);
    config.AddCommand<ModelsCommand>("models")
        .WithDescription("List every network: presets, scales, parameter counts, channels, paper and reference implementation.")
        .WithExample("models")
        .WithExample("models", "--json");
    config.AddCommand<UpscaleCommand>("upscale")
        .WithDescription("Upscale image files (a file, a folder or a pattern) with a model zip or an architecture and its weights.")
        .WithExample("upscale", "photo.jpg", "--model", "espcn-x2.zip", "-o", "photo-x2.png")
        .WithExample("upscale", "photo.jpg", "--model", "4x-RealESRGAN.pth", "-o", "photo-x4.png")
        .WithExample("upscale", "photos/", "--arch", "Fsrcnn", "--scale", "3", "--weights", "fsrcnn_x3.pth", "-o", "out/");
    config.AddCommand<TrainCommand>("train")
        .WithDescription("Train a network on a folder of high-resolution images (LR made with the protocol's bicubic); saves a model zip. Resumable with --checkpoint-dir.")
        .WithExample("train", "photos/", "--arch", "Espcn", "--scale", "2", "--epochs", "50", "-o", "espcn-x2.zip")
        .WithExample("train", "photos/", "--arch", "EdsrBaseline", "--preset", "Notes", "--validation", "val/", "--keep-best", "--checkpoint-dir", "ckpt", "-o", "edsr-x2.zip");
    config.AddCommand<EvalCommand>("eval")
        .WithDescription("Evaluate a model on high-resolution images with the SR protocol (PSNR/SSIM on Y, border shaved), next to bicubic.")
        .WithExample("eval", "--model", "espcn-x2.zip", "Set5/HR")
        .WithExample("eval", "--model", "espcn-x2.zip", "Set5/HR", "--low-res", "Set5/LR_bicubic/X2", "--json");
    config.AddCommand<ImportCommand>("import")
        .WithDescription("Turn a PyTorch state_dict (.pth or .safetensors) into an ML.NET model zip: a community model's network is detected; a zoo network is named (mismatched keys and shapes are listed).")
        .WithExample("import", "4x-RealESRGAN.pth", "-o", "realesrgan-x4.zip")
        .WithExample("import", "--arch", "Fsrcnn", "--scale", "3", "--weights", "fsrcnn_x3.pth", "-o", "fsrcnn-x3.zip");
    config.AddCommand<InspectCommand>("inspect")
        .WithDescription("Say what a model file is: the network detected from a PyTorch state_dict's keys (or held by a model zip), scale, hyper-parameters, parameters, stored dtype. Runs nothing from the file.")
        .WithExample("inspect", "4x-RealESRGAN.pth")
        .WithExample("inspect", "model.safetensors", "--json");
});
return app.Run(args, interrupt.Token);
