using RealTimeInference.Inference.Outcomes;

namespace RealTimeInference.Server.Transport;

/// <summary>A field at fault (a JSON path, a header, a form part) and why.</summary>
internal readonly record struct FieldError(string Field, string Message);

/// <summary>
/// Every field at fault in one request, up to <see cref="MaxErrors"/>, so a client fixes them all
/// at once (as FastAPI/Pydantic clients are used to); <see cref="Outcome"/> says whether the
/// request was invalid (400), over a limit (413) or too slow (408).
/// </summary>
internal sealed class RequestErrors
{
    public const int MaxErrors = 100;

    private readonly List<FieldError> _errors = [];

    public RequestErrors(Outcome outcome = Outcome.Invalid) => Outcome = outcome;

    public Outcome Outcome { get; private set; }

    public IReadOnlyList<FieldError> Errors => _errors;

    /// <summary>Whether no more errors are kept: parsers may stop looking.</summary>
    public bool IsFull => _errors.Count >= MaxErrors;

    public static RequestErrors One(string field, string message, Outcome outcome = Outcome.Invalid)
    {
        var errors = new RequestErrors(outcome);
        errors.Add(field, message);
        return errors;
    }

    public static RequestErrors TooLarge(string field, string message) => One(field, message, Outcome.TooLarge);

    /// <summary>An image that is no wafer map (422 <c>not_a_wafer</c>), and why (<see cref="Fab.Wafers.WaferCheck.Reasons"/>).</summary>
    public static RequestErrors NotAWafer(string field, string message, string reason)
    {
        var errors = One(field, message, Outcome.NotAWafer);
        errors.Reason = reason;
        return errors;
    }

    /// <summary>Why, in one word, when the outcome has reasons of its own (<see cref="Outcome.NotAWafer"/>).</summary>
    public string? Reason { get; private set; }

    /// <summary>Adds an error to <paramref name="errors"/>, creating it on the first one.</summary>
    public static void Add(ref RequestErrors? errors, string field, string message) => (errors ??= new()).Add(field, message);

    public void Add(string field, string message)
    {
        if (!IsFull)
        {
            _errors.Add(new FieldError(field, message));
        }
    }

    /// <summary>A limit was hit: the request is too large (413), whatever else was wrong with it.</summary>
    public void AddTooLarge(string field, string message)
    {
        Outcome = Outcome.TooLarge;
        Add(field, message);
    }

    /// <summary>One line for the problem's detail: the only error, or how many and which fields.</summary>
    public string Detail => _errors.Count == 1
        ? _errors[0].Message
        : $"{_errors.Count}{(IsFull ? " or more" : "")} errors: {string.Join("; ", _errors.Take(3).Select(e => e.Message))}{(_errors.Count > 3 ? "; ..." : "")}";

    /// <summary>The <c>errors</c> member of a validation problem: each field's messages.</summary>
    public Dictionary<string, string[]> ByField() =>
        _errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal);
}
