using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference;
using RealTimeInference.Results.Notifications;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Results.Alerts;

/// <summary>
/// Keeps the alerts in the results store: at start it gives the book back what was open before a
/// restart (and the recent resolved ones); then it writes every change, in order, with its
/// notification to each sink in the same transaction (the outbox), trying a failed write again with
/// backoff (and, while the server runs, for as long as the store is away). With Results:Store=none
/// the alerts and the outbox live in memory only.
/// </summary>
internal sealed partial class AlertKeeper(
    AlertBook book,
    ResultsStoreChoice choice,
    MemoryOutbox memory,
    Doorbell doorbell,
    AlertFeed feed,
    IOptions<AlertOptions> options,
    IOptions<NotificationOptions> notifications,
    TimeProvider time,
    ILogger<AlertKeeper> logger) : BackgroundService
{
    private const int Attempts = 5;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The results writer, registered (and so started) first, has opened the store.
        if (choice.Store is { } store)
        {
            var (alerts, lastId) = await store.LoadAlertsAsync(options.Value.KeepResolved, cancellationToken).ConfigureAwait(false);
            book.Restore(alerts, lastId, await store.LoadToolStatesAsync(cancellationToken).ConfigureAwait(false));
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await book.Changes.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await KeepAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync keeps the rest.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await KeepAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Keeps the changes so far; while <paramref name="running"/> can still be cancelled and is not, a store that is away is waited for.</summary>
    private async Task KeepAsync(CancellationToken running)
    {
        var sinks = notifications.Value.SinkNames;
        while (book.Changes.TryRead(out var change))
        {
            if (choice.Store is not { } store)
            {
                memory.Add(change, change.Quiet ? [] : sinks);
                doorbell.Ring();
                feed.Publish(change);
                continue;
            }

            var backoff = StoreRetry.FirstBackoff;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await store.SaveAlertAsync(change, change.Quiet ? [] : sinks, CancellationToken.None).ConfigureAwait(false);
                    doorbell.Ring();
                    break;
                }
#pragma warning disable CA1031 // Whatever the store threw, the change is tried again or logged, and the keeper goes on.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (attempt >= Attempts && !StoreRetry.WaitsOut(store, ex, running))
                    {
                        LogLost(logger, ex, change.Alert.Id, change.Event.Kind);
                        break;
                    }
                }

                await Task.Delay(backoff, time, CancellationToken.None).ConfigureAwait(false);
                backoff = StoreRetry.Next(backoff);
            }

            // Live subscribers see a change once it is kept (or could not be).
            feed.Publish(change);
        }
    }

    [LoggerMessage(EventId = LogEvents.AlertNotKept, Level = LogLevel.Error, Message = "Alert {AlertId}'s change ({Kind}) could not be written to the results store; it stays in memory")]
    private static partial void LogLost(ILogger logger, Exception exception, long alertId, string kind);
}
