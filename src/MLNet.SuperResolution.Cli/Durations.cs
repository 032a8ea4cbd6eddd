using System.Globalization;

namespace MLNet.SuperResolution.Cli;

/// <summary>Durations as people read them: "0.4 s", "12 s", "3.5 min", "2 h 05 min".</summary>
internal static class Durations
{
    public static string Format(TimeSpan duration) => duration.TotalSeconds switch
    {
        < 10 => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:F1} s"),
        < 120 => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:F0} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMinutes:F1} min"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)duration.TotalHours} h {duration.Minutes:D2} min"),
    };
}
