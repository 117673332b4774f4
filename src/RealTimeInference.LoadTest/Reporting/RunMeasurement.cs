namespace RealTimeInference.LoadTest.Reporting;

/// <summary>
/// What one runner saw inside its measured window. Rates divide by <see cref="MeasuredSeconds"/>, which
/// runs from the window's start until the last measured request answered (never less than the duration),
/// so a server that drains slowly shows a lower achieved rate.
/// </summary>
internal sealed record RunMeasurement(
    double MeasuredSeconds,
    double? OfferedRps,
    LatencySummary Latency,
    LatencySummary? ScheduleLag,
    StatusCounts Counts,
    long Scheduled,
    long CapDelayed,
    long Unsent)
{
    /// <summary>Latency of the successful (2xx) requests only: what accepted work waited under overload.</summary>
    public LatencySummary? OkLatency { get; init; }

    /// <summary>Successful (2xx) requests per second.</summary>
    public double AchievedRps => MeasuredSeconds > 0 ? Counts.Ok / MeasuredSeconds : 0;

    /// <summary>Requests per second that got any HTTP response.</summary>
    public double ResponsesRps => MeasuredSeconds > 0 ? Counts.Responses / MeasuredSeconds : 0;
}
