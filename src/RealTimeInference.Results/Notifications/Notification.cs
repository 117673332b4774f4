using RealTimeInference.Results.Alerts;

namespace RealTimeInference.Results.Notifications;

/// <summary>One change of one alert waiting to reach one sink; <see cref="Seq"/> orders a sink's notifications.</summary>
public sealed record Notification(long Seq, string Sink, AlertView Alert, AlertEvent Event);

/// <summary>
/// The notifications not yet delivered, kept until a sink has taken them (durably in the results
/// store; in memory with Results:Store=none).
/// </summary>
public interface INotificationOutbox
{
    /// <summary>The oldest undelivered notifications of <paramref name="sink"/>, in order.</summary>
    Task<IReadOnlyList<Notification>> PendingAsync(string sink, int max, CancellationToken cancellationToken);

    Task DeliveredAsync(Notification notification, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>
/// The outbox of a server with no store: lost on a restart, like its alerts. A sink that stays away
/// cannot make it grow without end: past <see cref="Capacity"/> undelivered notifications, a sink's
/// oldest is dropped, counted in <c>rti_alert_notifications_total{result="dropped"}</c>.
/// </summary>
internal sealed class MemoryOutbox(NotificationMetrics metrics) : INotificationOutbox
{
    public const int Capacity = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Notification>> _pending = [];
    private long _seq;

    public void Add(AlertChange change, IReadOnlyList<string> sinks)
    {
        lock (_gate)
        {
            foreach (var sink in sinks)
            {
                if (!_pending.TryGetValue(sink, out var list))
                {
                    _pending[sink] = list = [];
                }

                list.Add(new Notification(++_seq, sink, change.Alert, change.Event));
                if (list.Count > Capacity)
                {
                    list.RemoveAt(0);
                    metrics.Dropped(sink);
                }
            }
        }
    }

    public Task<IReadOnlyList<Notification>> PendingAsync(string sink, int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Notification>>(_pending.TryGetValue(sink, out var list) ? [.. list.Take(max)] : []);
        }
    }

    public Task DeliveredAsync(Notification notification, DateTimeOffset at, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _pending[notification.Sink].RemoveAll(n => n.Seq == notification.Seq);
        }

        return Task.CompletedTask;
    }
}
