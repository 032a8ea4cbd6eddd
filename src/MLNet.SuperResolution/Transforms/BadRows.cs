using Microsoft.ML.Runtime;

namespace MLNet.SuperResolution;

/// <summary>
/// Errors about one row whose message names the row (index and text columns) and the column, thrown by the image
/// readers and transforms of this library: an <see cref="InvalidDataException"/> (sealed) marked in its
/// <see cref="Exception.Data"/>, so that a reader downstream passes it on instead of wrapping it again.
/// </summary>
internal static class BadRowError
{
    private const string Marker = "MLNet.SuperResolution.BadRow";

    /// <summary>A marked <see cref="InvalidDataException"/>; <paramref name="message"/> must name the row and column.</summary>
    public static InvalidDataException Create(string message, Exception? inner = null)
    {
        var exception = new InvalidDataException(message, inner);
        exception.Data[Marker] = true;
        return exception;
    }

    /// <summary>Whether <paramref name="e"/> came from <see cref="Create"/>.</summary>
    public static bool Is(Exception e) => e is InvalidDataException && e.Data[Marker] is true;
}

/// <summary>
/// Applies an <see cref="SrBadRowHandling"/> while rows are read: <see cref="SrBadRowHandling.Fail"/> throws with the
/// row and how to skip it; <see cref="SrBadRowHandling.Skip"/> records the row and logs a warning.
/// </summary>
internal sealed class BadRows
{
    private readonly SrBadRowHandling _handling;
    private readonly IChannel _channel;
    private readonly string _data;
    private readonly string _howToSkip;

    /// <param name="handling">Fail or skip.</param>
    /// <param name="channel">Where skipped rows are logged (as warnings).</param>
    /// <param name="data">What is being read, for messages ("training data").</param>
    /// <param name="howToSkip">The end of the failure message: how to skip such rows instead, and where they are counted.</param>
    public BadRows(SrBadRowHandling handling, IChannel channel, string data, string howToSkip)
    {
        if (!Enum.IsDefined(handling))
            throw new ArgumentOutOfRangeException(nameof(handling), handling, "Bad-row handling must be Fail or Skip.");
        _handling = handling;
        _channel = channel;
        _data = data;
        _howToSkip = howToSkip;
    }

    /// <summary>The rows left out, in order.</summary>
    public List<SrSkippedRow> Skipped { get; } = new();

    /// <summary>
    /// Whether an exception thrown while reading a row is about that row (and not cancellation, memory exhaustion, or
    /// a model disposed before use).
    /// </summary>
    public static bool IsAboutTheRow(Exception e) => e is not (OperationCanceledException or OutOfMemoryException or ObjectDisposedException);

    /// <summary>
    /// Reports a bad row: throws (<see cref="SrBadRowHandling.Fail"/>) or records it and logs a warning. Messages of
    /// <see cref="BadRowError"/> errors already name the row; other exceptions get the row's index and description added.
    /// </summary>
    public void Report(long row, string rowDescription, Exception error)
    {
        string reason = BadRowError.Is(error) ? error.Message : $"Row {row}{rowDescription}: {error.GetType().Name}: {error.Message}";
        if (_handling == SrBadRowHandling.Fail)
            throw new InvalidDataException($"{reason.TrimEnd('.')}. Fix or remove the bad file, or {_howToSkip}.", error);
        Skipped.Add(new SrSkippedRow(row, reason));
        _channel.Warning($"Skipped a bad row of the {_data}: {reason}");
    }

    /// <summary>Fails when rows were read, every one of them was bad, and so nothing is left.</summary>
    public void CheckSomethingLeft(int kept)
    {
        if (kept == 0 && Skipped.Count > 0)
            throw new InvalidDataException(
                $"Every row of the {_data} ({Skipped.Count}) was bad, so nothing is left. The first: {Skipped[0].Reason} " +
                "Check the image column's files and the scale.");
    }
}
