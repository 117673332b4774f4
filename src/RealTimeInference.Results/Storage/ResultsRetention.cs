using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// Every Results:RetentionInterval, deletes the predictions made (and the optimizer decisions decided) longer than Results:Retention ago,
/// in chunks so the writer is never held for long, and the alert notifications delivered and the
/// alerts resolved as long ago.
/// </summary>
internal sealed partial class ResultsRetention(
    ResultsStoreChoice choice,
    IOptions<ResultsOptions> options,
    ResultsMetrics metrics,
    TimeProvider time,
    ILogger<ResultsRetention> logger) : BackgroundService
{
    internal const int ChunkRows = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (choice.Store is not { } store)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.RetentionInterval, time);
        try
        {
            do
            {
                try
                {
                    await EnforceAsync(store, stoppingToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The last-resort guard: a failed pass is logged and the next one comes.
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    LogFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One pass: deletes chunk after chunk until none is left past the retention.</summary>
    internal async Task<long> EnforceAsync(IResultsStore store, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - options.Value.Retention;
        var total = 0L;
        int deleted;
        do
        {
            deleted = await store.DeleteOlderThanAsync(cutoff, ChunkRows, cancellationToken).ConfigureAwait(false);
            total += deleted;
            metrics.Deleted(deleted);
        }
        // A store that deletes whole blocks may take fewer than the chunk: only a pass that takes none ends it.
        while (deleted > 0 && !cancellationToken.IsCancellationRequested);

        // Notifications delivered and alerts resolved as long ago are done with too (undelivered ones and open alerts stay, however old).
        await store.DeleteOldAlertsAsync(cutoff, cancellationToken).ConfigureAwait(false);
        return total;
    }

    [LoggerMessage(EventId = LogEvents.ResultsRetentionFailed, Level = LogLevel.Error, Message = "Deleting old predictions from the results store failed; the next pass tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
