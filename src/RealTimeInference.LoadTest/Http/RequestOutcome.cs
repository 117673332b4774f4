namespace RealTimeInference.LoadTest.Http;

internal enum OutcomeKind
{
    /// <summary>An HTTP response arrived and its body was read to the end.</summary>
    Response,
    Timeout,
    TransportError,
}

internal readonly record struct RequestOutcome(OutcomeKind Kind, int StatusCode)
{
    public static RequestOutcome TimedOut { get; } = new(OutcomeKind.Timeout, 0);
    public static RequestOutcome Failed { get; } = new(OutcomeKind.TransportError, 0);
}
