// Command-line options shared by the examples (compiled into each example that links this file; see its .csproj).
using System.Globalization;

/// <summary>--name value pairs and --flags (a flag is an option not followed by a value).</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public static Arguments Parse(string[] args)
    {
        var result = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"Unexpected argument '{args[i]}': options are --name value or --flag.");
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            result._values[args[i][2..]] = hasValue ? args[++i] : null;
        }

        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public string? GetOrNull(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int fallback) => _values.GetValueOrDefault(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double GetDouble(string name, double fallback) => _values.GetValueOrDefault(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
