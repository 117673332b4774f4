using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference;
using RealTimeInference.Results.Alerts;

namespace RealTimeInference.Results.Notifications;

/// <summary>A wake-up call that is never lost: rung before anyone waits, the next wait returns at once.</summary>
public sealed class Doorbell
{
    private readonly SemaphoreSlim _rung = new(0, 1);
    /// <summary>1 from a ring until the waiter wakes: a ring meanwhile is covered by the one pending (thousands a second in an alarm flood).</summary>
    private int _pending;

    public void Ring()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0)
        {
            _rung.Release();
        }
    }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        await _rung.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Woken: what was rung for is there to read now, and a ring from here on wakes the next wait.
        Volatile.Write(ref _pending, 0);
    }
}

/// <summary>
/// Delivers the outbox to every sink, each in its own order: a sink's notification is tried until
/// the receiver takes it (backoff doubling from 1 s up to Alerts:MaxBackoff), and only then is the
/// next one sent, so a receiver that was down gets every notification, in order, once it is back.
/// Alertmanager is also told again of the open alerts every Alerts:ResendInterval.
/// </summary>
internal sealed partial class AlertNotifier(
    INotificationOutbox outbox,
    Doorbell doorbell,
    AlertBook book,
    IOptions<NotificationOptions> options,
    NotificationMetrics metrics,
    TimeProvider time,
    ILogger<AlertNotifier> logger) : BackgroundService
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var http = new HttpClient { Timeout = settings.Timeout };
        var sinks = new List<INotificationSink>();
        for (var i = 0; i < settings.Webhooks.Count; i++)
        {
            sinks.Add(new WebhookSink(NotificationOptions.WebhookName(i), settings.Webhooks[i], settings.PublicUrl, http));
        }

        var alertmanager = settings.Alertmanager.Url is { } url ? new AlertmanagerSink(url, settings.PublicUrl, http) : null;
        if (alertmanager is not null)
        {
            sinks.Add(alertmanager);
        }

        if (sinks.Count == 0)
        {
            return;
        }

        // One doorbell, many sinks: each loop is woken by its own bell, rung from the shared one.
        var bells = sinks.ToDictionary(s => s.Name, _ => new Doorbell());
        var loops = sinks.Select(sink => DeliverAsync(sink, bells[sink.Name], stoppingToken)).ToList();
        loops.Add(FanOutAsync(doorbell, bells.Values, stoppingToken));
        if (alertmanager is not null)
        {
            loops.Add(ResendAsync(alertmanager, settings.ResendInterval, stoppingToken));
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    private static async Task FanOutAsync(Doorbell shared, IEnumerable<Doorbell> bells, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await shared.WaitAsync(stoppingToken).ConfigureAwait(false);
                foreach (var bell in bells)
                {
                    bell.Ring();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task DeliverAsync(INotificationSink sink, Doorbell bell, CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var pending = await outbox.PendingAsync(sink.Name, 100, stoppingToken).ConfigureAwait(false);
                    if (pending.Count == 0)
                    {
                        await bell.WaitAsync(stoppingToken).ConfigureAwait(false);
                        continue;
                    }

                    foreach (var notification in pending)
                    {
                        if (!await TrySendAsync(sink, notification, stoppingToken).ConfigureAwait(false))
                        {
                            metrics.Failed(sink.Name);
                            await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                            backoff = TimeSpan.FromTicks(Math.Min(options.Value.MaxBackoff.Ticks, backoff.Ticks * 2));
                            break;
                        }

                        backoff = FirstBackoff;
                        await outbox.DeliveredAsync(notification, time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                        metrics.Delivered(sink.Name, time.GetUtcNow() - notification.Event.Time);
                    }
                }
#pragma warning disable CA1031 // The outbox is the results store, which may be away (PostgreSQL restarting): its notifications wait, and are sent once it is back.
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    // A notification sent but not yet marked delivered goes again: receivers tell repeats by X-RTI-Notification-Id.
                    LogOutboxUnreadable(logger, sink.Name, ex.Message);
                    await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(options.Value.MaxBackoff.Ticks, backoff.Ticks * 2));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is undelivered stays in the outbox.
        }
    }

    private async Task<bool> TrySendAsync(INotificationSink sink, Notification notification, CancellationToken stoppingToken)
    {
        try
        {
            return await sink.SendAsync(notification, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
        {
            LogUnreachable(logger, sink.Name, notification.Alert.Id, ex.Message);
            return false;
        }
    }

    private async Task ResendAsync(AlertmanagerSink alertmanager, TimeSpan interval, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var open = book.List(null, null).Where(a => a.IsOpen).ToList();
                if (open.Count > 0)
                {
                    try
                    {
                        await alertmanager.PostAsync(open, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                    {
                        // The next tick tries again; the outbox keeps the changes themselves.
                        LogUnreachable(logger, alertmanager.Name, 0, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = LogEvents.AlertOutboxUnreadable, Level = LogLevel.Warning, Message = "The notifications for {Sink} could not be read or marked from the results store: {Error}; tried again")]
    private static partial void LogOutboxUnreadable(ILogger logger, string sink, string error);

    [LoggerMessage(EventId = LogEvents.AlertSinkUnreachable, Level = LogLevel.Warning, Message = "Alert sink {Sink} did not take alert {AlertId}'s notification: {Error}; it is tried again")]
    private static partial void LogUnreachable(ILogger logger, string sink, long alertId, string error);
}
