using System.Threading.Channels;

namespace RealTimeInference.Results.Alerts;

/// <summary>
/// The alert changes for live subscribers (<c>GET /stream-alerts</c>), each with an id, the last
/// <see cref="ReplayCapacity"/> kept so a subscriber that reconnects with Last-Event-ID misses none.
/// A subscriber that falls <see cref="BufferSize"/> changes behind loses its oldest, counted in
/// <c>rti_alerts_stream_dropped_total</c>.
/// </summary>
public sealed class AlertFeed
{
    public AlertFeed(AlertMetrics metrics) => metrics.ObserveStreamDropped(() => Dropped);

    public const int ReplayCapacity = 1024;
    public const int BufferSize = 1024;

    private readonly Lock _gate = new();
    private readonly (long Id, AlertChange Change)[] _ring = new (long, AlertChange)[ReplayCapacity];
    private readonly List<Channel<(long Id, AlertChange Change)>> _subscribers = [];
    private long _lastId;
    private long _dropped;

    /// <summary>Changes a slow subscriber lost.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Publish(AlertChange change)
    {
        lock (_gate)
        {
            var item = (++_lastId, change);
            _ring[_lastId % ReplayCapacity] = item;
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(item);
            }
        }
    }

    /// <summary>A live subscription; with <paramref name="after"/>, the kept changes after that id first.</summary>
    public AlertSubscription Subscribe(long? after)
    {
        var channel = Channel.CreateBounded<(long, AlertChange)>(
            new BoundedChannelOptions(BufferSize) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
        lock (_gate)
        {
            var backlog = new List<(long Id, AlertChange Change)>();
            if (after is { } last)
            {
                for (var id = Math.Max(last + 1, _lastId - ReplayCapacity + 1); id <= _lastId; id++)
                {
                    backlog.Add(_ring[id % ReplayCapacity]);
                }
            }

            _subscribers.Add(channel);
            return new AlertSubscription(backlog, channel.Reader, () =>
            {
                lock (_gate)
                {
                    _subscribers.Remove(channel);
                }
            });
        }
    }
}

public sealed class AlertSubscription(IReadOnlyList<(long Id, AlertChange Change)> backlog, ChannelReader<(long Id, AlertChange Change)> reader, Action leave) : IDisposable
{
    public IReadOnlyList<(long Id, AlertChange Change)> Backlog { get; } = backlog;

    public ChannelReader<(long Id, AlertChange Change)> Reader { get; } = reader;

    public void Dispose() => leave();
}
