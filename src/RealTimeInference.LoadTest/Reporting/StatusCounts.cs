namespace RealTimeInference.LoadTest.Reporting;

/// <summary>How every measured request ended. 4xx excludes 429 and 5xx excludes 503; both are counted on their own.</summary>
internal sealed record StatusCounts(
    long Ok,
    long ClientErrors,
    long RateLimited,
    long Unavailable,
    long ServerErrors,
    long OtherStatus,
    long Timeouts,
    long TransportErrors)
{
    public long Responses => Ok + ClientErrors + RateLimited + Unavailable + ServerErrors + OtherStatus;

    public long Total => Responses + Timeouts + TransportErrors;
}
