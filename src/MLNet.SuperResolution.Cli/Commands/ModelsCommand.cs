using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli.Commands;

/// <summary><c>sr models</c>: the model zoo with parameter counts per preset and scale.</summary>
internal sealed class ModelsCommand : Command<ModelsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--json")]
        [Description("Print a JSON array of {architecture, preset, scale, parameters, channels, channelSpace, paper, reference}.")]
        public bool Json { get; init; }

        [CommandOption("--markdown")]
        [Description("Print the markdown parameter table used in docs/models.md.")]
        public bool Markdown { get; init; }

        public override ValidationResult Validate()
            => Json && Markdown ? ValidationResult.Error("Choose one of --json and --markdown.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var rows = ModelTable.Rows();
        if (settings.Json)
        {
            Console.Out.WriteLine(ModelTable.Json(rows));
            return 0;
        }

        if (settings.Markdown)
        {
            Console.Out.Write(ModelTable.Markdown(rows));
            return 0;
        }

        var table = new Table().AddColumns("network", "preset", "channels").Title("Trainable parameters per scale");
        foreach (int scale in ModelTable.Scales(rows))
            table.AddColumn(new TableColumn($"x{scale}").RightAligned());
        foreach (var line in ModelTable.Grid(rows))
            table.AddRow(line);
        AnsiConsole.Write(table);

        var references = new Table().AddColumns("network", "paper", "reference implementation (state_dict keys)");
        foreach (var model in SrModelZoo.Models)
            references.AddRow(model.Architecture.ToString(), Markup.Escape(model.Paper), Markup.Escape(model.Reference));
        AnsiConsole.Write(references);
        AnsiConsole.MarkupLine("[grey]Channels: those the preset was trained on (Paper: the paper's; Notes: RGB). Every network takes SrChannels.Rgb, SrChannels.Y or SrChannels.Gray.[/]");
        return 0;
    }
}
