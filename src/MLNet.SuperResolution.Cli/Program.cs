using MLNet.SuperResolution.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("sr");
    config.AddCommand<ModelsCommand>("models")
        .WithDescription("List every network: presets, scales, parameter counts, channels, paper and reference implementation.")
        .WithExample("models")
        .WithExample("models", "--json");
    config.AddCommand<UpscaleCommand>("upscale")
        .WithDescription("Upscale image files (a file, a folder or a pattern) with a model zip or an architecture and its weights.")
        .WithExample("upscale", "photo.jpg", "--model", "espcn-x2.zip", "-o", "photo-x2.png")
        .WithExample("upscale", "photos/", "--arch", "Fsrcnn", "--scale", "3", "--weights", "fsrcnn_x3.pth", "-o", "out/");
    config.AddCommand<ImportCommand>("import")
        .WithDescription("Turn a PyTorch state_dict (.pth or .safetensors) into an ML.NET model zip (mismatched keys and shapes are listed).")
        .WithExample("import", "--arch", "Fsrcnn", "--scale", "3", "--weights", "fsrcnn_x3.pth", "-o", "fsrcnn-x3.zip");
});
return app.Run(args);
