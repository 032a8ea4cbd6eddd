using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace MLNet.SuperResolution.Cli;

/// <summary>The exit codes of every <c>sr</c> command (docs/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Ok = 0;

    /// <summary>The command ran but some inputs failed, or a model or file could not be used (each named on stderr).</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: an unknown option, a bad value, options that do not go together. Nothing ran.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C (SIGINT), as shells report a process ended by it.</summary>
    public const int Interrupted = 130;
}

/// <summary>Each <c>sr</c> command's name and its settings type (where its options are declared).</summary>
internal static class SrCommands
{
    public static IReadOnlyDictionary<string, Type> SettingsByCommand { get; } = new Dictionary<string, Type>
    {
        ["models"] = typeof(Commands.ModelsCommand.Settings),
        ["upscale"] = typeof(Commands.UpscaleCommand.Settings),
        ["train"] = typeof(Commands.TrainCommand.Settings),
        ["eval"] = typeof(Commands.EvalCommand.Settings),
        ["import"] = typeof(Commands.ImportCommand.Settings),
        ["inspect"] = typeof(Commands.InspectCommand.Settings),
    };
}

/// <summary>
/// The one error convention of <c>sr</c>: every error on stderr as <c>error: ...</c>, usage errors with what to type
/// instead (the closest option or command name, the kind of value an option takes) and exit code 2, anything unexpected
/// with exit code 1. Spectre.Console.Cli's own messages name .NET types ("Failed to convert 'abc' to Nullable`1");
/// they are reworded here from the command line itself.
/// </summary>
internal sealed partial class CliErrors
{
    private readonly IReadOnlyDictionary<string, Type> _settingsByCommand;
    private readonly TextWriter _stderr;

    /// <param name="settingsByCommand">Each command's name and its settings type (where its options are declared).</param>
    /// <param name="stderr">Where errors are written.</param>
    public CliErrors(IReadOnlyDictionary<string, Type> settingsByCommand, TextWriter stderr)
    {
        _settingsByCommand = settingsByCommand;
        _stderr = stderr;
    }

    /// <summary>Writes <paramref name="exception"/> as an error for <paramref name="args"/> and returns the exit code.</summary>
    public int Handle(Exception exception, IReadOnlyList<string> args)
    {
        if (exception is CommandAppException usage)
        {
            _stderr.WriteLine($"error: {Describe(usage, args)}");
            string? command = CommandOf(args);
            _stderr.WriteLine(command is null ? "Run 'sr --help' for the commands." : $"Run 'sr {command} --help' for its options.");
            return ExitCodes.Usage;
        }

        if (exception is OperationCanceledException)
        {
            _stderr.WriteLine("error: interrupted.");
            return ExitCodes.Interrupted;
        }

        _stderr.WriteLine($"error: {exception.Message} ({exception.GetType().Name})");
        return ExitCodes.Failed;
    }

    /// <summary>The message for a parse or validation error, in terms of the options the user typed.</summary>
    internal string Describe(CommandAppException exception, IReadOnlyList<string> args)
    {
        string message = exception.Message.Trim();
        string? command = CommandOf(args);
        if (UnknownOption().Match(message) is { Success: true } unknown)
        {
            string typed = unknown.Groups[2].Value;
            string dashes = typed.Length == 1 ? "-" : "--";
            string? closest = command is null ? null : Closest(typed, OptionNames(command));
            return $"unknown option '{dashes}{typed}'{(command is null ? "" : $" for 'sr {command}'")}." +
                   (closest is null ? "" : $" Did you mean '{closest}'?");
        }

        if (UnknownCommand().Match(message) is { Success: true } unknownCommand)
        {
            string? closest = Closest(unknownCommand.Groups[1].Value, _settingsByCommand.Keys);
            return $"unknown command '{unknownCommand.Groups[1].Value}'; the commands are {string.Join(", ", _settingsByCommand.Keys)}." +
                   (closest is null ? "" : $" Did you mean '{closest}'?");
        }

        if (ConversionFailure().Match(message) is { Success: true } conversion)
            return DescribeBadValue(conversion.Groups[1].Value, conversion.Groups[2].Value, args);

        if (UnmatchedArgument().Match(message) is { Success: true } extra)
            return $"unexpected argument '{extra.Groups[1].Value}'" + (command is null ? "." : $": 'sr {command}' takes {ArgumentsOf(command)}.");

        if (UnexpectedOption().Match(message) is { Success: true } unexpected)
            return $"'--{unexpected.Groups[1].Value}' needs a command first, e.g. 'sr upscale IMAGE --{unexpected.Groups[1].Value}'.";

        if (MissingArgument().Match(message) is { Success: true } missing)
            return $"'sr {missing.Groups[1].Value}' needs {missing.Groups[2].Value}, e.g. {Example(missing.Groups[1].Value)}.";

        // Our own validation messages are already written for people; Spectre adds no type names to them.
        return message;
    }

    /// <summary>"--scale takes a whole number; 'abc' is not one", or "--scale needs a value".</summary>
    private string DescribeBadValue(string value, string typeName, IReadOnlyList<string> args)
    {
        // The option is the token before the value (or the token itself, "--scale=abc"); Spectre puts its default
        // command's name where a value is missing at the end of the line.
        string? option = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == value && i > 0 && args[i - 1].StartsWith('-'))
                option = args[i - 1];
            else if (args[i].StartsWith('-') && args[i].Contains('=', StringComparison.Ordinal) && args[i].EndsWith("=" + value, StringComparison.Ordinal))
                option = args[i][..args[i].IndexOf('=', StringComparison.Ordinal)];
        }

        bool missing = value.StartsWith("__", StringComparison.Ordinal) || option is null && args.Count > 0 && args[^1].StartsWith('-');
        if (missing)
            option ??= args[^1];
        var type = (option is null ? null : OptionType(CommandOf(args), option)) ?? typeof(object);
        type = Nullable.GetUnderlyingType(type) ?? type;
        string kind = type == typeof(int) || type == typeof(long) ? "a whole number"
            : type == typeof(double) || type == typeof(float) ? "a number"
            : type == typeof(bool) ? "true or false"
            : typeName.Contains("Int", StringComparison.Ordinal) ? "a whole number"
            : "a value";
        if (missing)
            return $"{option} needs {kind} after it.";

        return option is null ? $"'{value}' is not {kind}." : $"{option} takes {kind}; '{value}' is not one.";
    }

    /// <summary>The command named on the line (its first word that is a command), or null.</summary>
    private string? CommandOf(IReadOnlyList<string> args)
        => args.FirstOrDefault(a => _settingsByCommand.ContainsKey(a));

    /// <summary>The property type of <paramref name="option"/> ("--scale", "-o") of a command, or null.</summary>
    private Type? OptionType(string? command, string option)
    {
        if (command is null || !_settingsByCommand.TryGetValue(command, out var settings))
            return null;
        string name = option.TrimStart('-');
        return settings.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .FirstOrDefault(p => p.GetCustomAttribute<CommandOptionAttribute>() is { } a && (a.LongNames.Contains(name) || a.ShortNames.Contains(name)))
            ?.PropertyType;
    }

    /// <summary>A command's visible option names, long and short, with their dashes.</summary>
    internal IReadOnlyList<string> OptionNames(string command)
    {
        if (!_settingsByCommand.TryGetValue(command, out var settings))
            return [];
        return settings.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
            .Where(a => a is { IsHidden: false })
            .SelectMany(a => a!.LongNames.Select(n => "--" + n).Concat(a.ShortNames.Select(n => "-" + n)))
            .ToList();
    }

    /// <summary>"INPUT..." or "HR_IMAGES": the positional arguments a command takes.</summary>
    private string ArgumentsOf(string command)
    {
        var arguments = _settingsByCommand[command].GetProperties()
            .Select(p => (Property: p, Attribute: p.GetCustomAttribute<CommandArgumentAttribute>()))
            .Where(a => a.Attribute is not null)
            .OrderBy(a => a.Attribute!.Position)
            .Select(a => a.Attribute!.ValueName + (a.Property.PropertyType.IsArray ? "..." : ""))
            .ToList();
        return arguments.Count == 0 ? "no arguments, only options" : string.Join(" ", arguments) + (arguments.Count == 1 && !arguments[0].EndsWith("...", StringComparison.Ordinal)
            ? " only (quote a pattern, 'photos/*.jpg', so that the shell does not expand it)" : "");
    }

    private static string Example(string command) => command switch
    {
        "upscale" => "'sr upscale photo.jpg --scale 2 -o photo-x2.png'",
        "train" => "'sr train photos/ --arch Espcn --scale 2 -o espcn-x2.zip'",
        "eval" => "'sr eval Set5/HR --model espcn-x2.zip'",
        "inspect" => "'sr inspect 4x-model.pth'",
        "import" => "'sr import 4x-model.pth -o model.zip'",
        _ => $"'sr {command} --help'",
    };

    /// <summary>The candidate closest to <paramref name="typed"/> by edit distance, when close enough to be a typo.</summary>
    internal static string? Closest(string typed, IEnumerable<string> candidates)
    {
        string bare = typed.TrimStart('-');
        var best = candidates
            .Select(c => (Name: c, Distance: EditDistance(bare.ToLowerInvariant(), c.TrimStart('-').ToLowerInvariant())))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        if (best.Name is null)
            return null;
        // A typo, a missing or extra letter or two, or the start of a longer name ("--tiles" for "--tile").
        int allowed = Math.Max(2, bare.Length / 3);
        bool prefix = bare.Length >= 3 && best.Name.TrimStart('-').StartsWith(bare, StringComparison.OrdinalIgnoreCase);
        return best.Distance <= allowed || prefix ? best.Name : null;
    }

    /// <summary>Levenshtein distance with adjacent transpositions (optimal string alignment).</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }

        return d[a.Length, b.Length];
    }

    [GeneratedRegex(@"^Unknown option '(-{0,2})([^']+)'")]
    private static partial Regex UnknownOption();

    [GeneratedRegex(@"^Unknown command '([^']+)'")]
    private static partial Regex UnknownCommand();

    [GeneratedRegex(@"^Failed to convert '([^']*)' to ([^.]+(?:\.[^.]+)*?)\.?$")]
    private static partial Regex ConversionFailure();

    [GeneratedRegex(@"^Could not match '([^']+)' with an argument")]
    private static partial Regex UnmatchedArgument();

    [GeneratedRegex(@"^Unexpected option '([^']+)'")]
    private static partial Regex UnexpectedOption();

    [GeneratedRegex(@"^Command '([^']+)' is missing required argument '([^']+)'")]
    private static partial Regex MissingArgument();
}
