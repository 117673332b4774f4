namespace RealTimeInference.Inference.Outcomes;

/// <summary>
/// What became of a request, from the engine (ok, dropped, cancelled, failed, unavailable) or from
/// the transport before it (invalid, too large, timed out, rate limited). Every transport answers in this one vocabulary;
/// <see cref="OutcomeVocabulary"/> says how each reads on the wire and in the metrics.
/// </summary>
public enum Outcome
{
    /// <summary>Scores were written.</summary>
    Ok,
    /// <summary>No room in the model's queue, and nothing less urgent to shed.</summary>
    QueueFull,
    /// <summary>Above the sampling watermark only 1 request in N is admitted; this one was not.</summary>
    Sampled,
    /// <summary>Admitted, then dropped from the queue, oldest first, to admit more urgent or newer work.</summary>
    ShedOldest,
    /// <summary>Admitted, then dropped from the queue, newest first, to admit other work.</summary>
    ShedNewest,
    /// <summary>The predicted wait in the queue already passes the deadline; refused at once.</summary>
    DeadlineUnmeetable,
    /// <summary>The deadline passed before its turn; nothing was computed.</summary>
    DeadlineExpired,
    /// <summary>The caller gave up before its turn; nothing was computed.</summary>
    Cancelled,
    /// <summary>The model run failed.</summary>
    Failed,
    /// <summary>No model serves: not loaded, or the server is shutting down.</summary>
    Unavailable,
    /// <summary>The request was malformed (the fields at fault are named); never reached a model.</summary>
    Invalid,
    /// <summary>The request was over a size limit; never reached a model.</summary>
    TooLarge,
    /// <summary>The request's body arrived slower than the server's minimum rate; never reached a model.</summary>
    TimedOut,
    /// <summary>The client is over its rate; never reached a model.</summary>
    RateLimited,
    /// <summary>An image that decodes but is no wafer map (a covered, dark or misaimed camera); never reached a model.</summary>
    NotAWafer,
    /// <summary>No routing rule names a model for the reading's context (or the one named cannot take readings); never scored by a wrong model.</summary>
    NoRoute,
}

/// <summary>How one outcome reads on every transport and in the metrics.</summary>
/// <param name="Label">The metric <c>outcome</c> label, and the <c>reason</c> of an answer that was not computed.</param>
/// <param name="HttpStatus">The HTTP status (499 is nginx's "client closed request").</param>
/// <param name="Title">The RFC 9457 problem title.</param>
/// <param name="SocketError">The <c>error</c> code of a WebSocket error message.</param>
/// <param name="IsDrop">Not computed because of overload or a deadline: answered 503 with a Retry-After from the queue's depth.</param>
public sealed record OutcomeInfo(string Label, int HttpStatus, string Title, string SocketError, bool IsDrop);

/// <summary>The one mapping from an <see cref="Outcome"/> to its answer on every transport.</summary>
public static class OutcomeVocabulary
{
    public const int ClientClosedRequest = 499;

    private const string Overloaded = "overloaded";

    private static readonly OutcomeInfo[] Table =
    [
        new("ok", 200, "OK", "", IsDrop: false),
        new("queue_full", 503, "Overloaded", Overloaded, IsDrop: true),
        new("sampled", 503, "Overloaded", Overloaded, IsDrop: true),
        new("shed_oldest", 503, "Overloaded", Overloaded, IsDrop: true),
        new("shed_newest", 503, "Overloaded", Overloaded, IsDrop: true),
        new("deadline_unmeetable", 503, "Deadline cannot be met", Overloaded, IsDrop: true),
        new("deadline_expired", 503, "Deadline cannot be met", Overloaded, IsDrop: true),
        new("cancelled", ClientClosedRequest, "Client closed request", "cancelled", IsDrop: false),
        new("failed", 500, "Model run failed", "model_failed", IsDrop: false),
        new("unavailable", 503, "Model unavailable", "model_unavailable", IsDrop: false),
        new("invalid", 400, "Invalid request", "invalid_message", IsDrop: false),
        new("too_large", 413, "Request too large", "message_too_large", IsDrop: false),
        new("timed_out", 408, "Request timeout", "timed_out", IsDrop: false),
        new("rate_limited", 429, "Rate limited", "rate_limited", IsDrop: false),
        new("not_a_wafer", 422, "Not a wafer", "not_a_wafer", IsDrop: false),
        new("no_route", 422, "No model for this context", "no_route", IsDrop: false),
    ];

    /// <summary>Every outcome, in declaration order.</summary>
    public static IReadOnlyList<Outcome> All { get; } = Enum.GetValues<Outcome>();

    public static OutcomeInfo Describe(this Outcome outcome) => Table[(int)outcome];

    /// <summary>The metric label and wire <c>reason</c>.</summary>
    public static string Label(this Outcome outcome) => Table[(int)outcome].Label;

    /// <summary>Whether the answer carries <c>Retry-After</c>: dropped work or no model serving (503), or a client over its rate (429).</summary>
    public static bool IsRetryable(this Outcome outcome) => outcome.Describe().IsDrop || outcome is Outcome.Unavailable or Outcome.RateLimited;

    /// <summary>
    /// Retry-After in whole seconds: the wait the queue's depth and the model's recent speed predict,
    /// rounded up, never under <paramref name="leastSeconds"/>.
    /// </summary>
    public static int RetryAfterSeconds(TimeSpan predictedWait, int leastSeconds) =>
        (int)Math.Clamp(Math.Ceiling(predictedWait.TotalSeconds), leastSeconds, int.MaxValue);

    /// <summary>What happened, for a problem's <c>detail</c> or a socket error's; <paramref name="model"/> and <paramref name="error"/> fill in the specifics.</summary>
    public static string Detail(this Outcome outcome, string? model = null, string? error = null) => outcome switch
    {
        Outcome.Ok => "Scored.",
        Outcome.QueueFull => "The model's queue is full; retry after the interval in Retry-After.",
        Outcome.Sampled => "The model's queue is above its sampling watermark and this request was not sampled; retry after the interval in Retry-After.",
        Outcome.ShedOldest or Outcome.ShedNewest => "The request was shed from the model's queue to make room for more urgent or newer work; retry after the interval in Retry-After.",
        Outcome.DeadlineUnmeetable => "The work queued ahead of this request would take longer than its deadline; retry after the interval in Retry-After.",
        Outcome.DeadlineExpired => "The request's deadline passed while it waited; nothing was computed.",
        Outcome.Cancelled => "The client closed the request.",
        Outcome.Failed => error ?? "The model run failed.",
        Outcome.Unavailable => $"Model '{model}' is not serving (not loaded, or the server is shutting down).",
        Outcome.Invalid => error ?? "The request is invalid.",
        Outcome.TooLarge => error ?? "The request is too large.",
        Outcome.TimedOut => error ?? "The request body arrived too slowly.",
        Outcome.NotAWafer => error ?? "The image is no wafer map.",
        Outcome.NoRoute => error ?? "No routing rule names a model for the reading's context.",
        _ => "This client sent more requests than its rate allows; retry after the interval in Retry-After.",
    };
}
