namespace RealTimeInference.Results.Storage;

/// <summary>How the writer and the alert keeper try a failed store call again: one backoff, one rule for waiting out an outage.</summary>
internal static class StoreRetry
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>The backoff after <paramref name="backoff"/>: doubled, at most <see cref="MaxBackoff"/>.</summary>
    public static TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));

    /// <summary>
    /// Whether to keep trying past the usual attempts: the store is away for now (<see cref="IResultsStore.IsTransient"/>)
    /// and the server is running (<paramref name="running"/> can still be cancelled and is not).
    /// </summary>
    public static bool WaitsOut(IResultsStore store, Exception error, CancellationToken running) =>
        store.IsTransient(error) && running.CanBeCanceled && !running.IsCancellationRequested;
}
