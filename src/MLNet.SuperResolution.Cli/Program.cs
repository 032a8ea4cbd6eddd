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
});
return app.Run(args);
