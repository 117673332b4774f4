using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>Who sent the readings a prediction was made for.</summary>
internal static class PredictionSources
{
    public const string Simulator = "simulator";
    public const string Http = "http";
    public const string WebSocket = "websocket";
}

/// <summary>
/// Fans every prediction out to the SSE subscribers. Publishing never waits and costs the caller a
/// copy of its rows: with nobody listening it returns after one volatile read; otherwise the rows go
/// to a bounded outbox (past <see cref="StreamingOptions.OutboxCapacity"/> rows they are dropped and
/// counted) and one background loop serializes each event once and hands it to every subscriber.
/// Each subscriber has a bounded buffer that drops its oldest event when full (counted, and told to
/// that subscriber). A bounded ring of recent events, keyed by a monotonically increasing id, lets
/// a client resume with Last-Event-ID.
/// </summary>
internal sealed class PredictionHub : IDisposable
{
    private readonly Lock _gate = new();
    private readonly StreamingOptions _options;
    private readonly StreamMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly HubEvent?[] _ring;
    private readonly Channel<Outgoing> _outbox = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private long _outboxRows;
    private Subscription[] _subscribers = [];
    private volatile int _subscriberCount;
    private long _retainUntil;
    private long _lastId;

    public PredictionHub(IOptions<StreamingOptions> options, StreamMetrics metrics, TimeProvider time)
    {
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _ring = new HubEvent?[_options.ReplayCapacity];
        _ = Task.Run(PumpAsync);
    }

    /// <summary>Whether published events are kept: someone listens, or left recently enough to resume.</summary>
    public bool IsActive => _subscriberCount > 0 || _time.GetTimestamp() < Volatile.Read(ref _retainUntil);

    public int SubscriberCount => _subscriberCount;

    /// <summary>Publishes one event per row of <paramref name="features"/> and its score.</summary>
    public void Publish(string source, ServedModel model, ReadOnlySpan<float> features, ReadOnlySpan<float> scores, ReadingLabels labels = default)
    {
        if (!IsActive)
        {
            return;
        }

        var rows = scores.Length;
        if (Interlocked.Add(ref _outboxRows, rows) > _options.OutboxCapacity)
        {
            Interlocked.Add(ref _outboxRows, -rows);
            _metrics.Dropped(StreamMetrics.HubOverflow, rows);
            return;
        }

        var width = SensorFeatures.Count;
        var data = ArrayPool<float>.Shared.Rent(rows * (width + 1));
        features[..(rows * width)].CopyTo(data);
        scores.CopyTo(data.AsSpan(rows * width));
        _outbox.Writer.TryWrite(new Outgoing(source, model, data, rows, labels, _time.GetUtcNow()));
    }

    public void Dispose() => _outbox.Writer.TryComplete();

    private async Task PumpAsync()
    {
        var reader = _outbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var outgoing))
            {
                try
                {
                    Deliver(outgoing);
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(outgoing.Data);
                    Interlocked.Add(ref _outboxRows, -outgoing.Rows);
                }
            }
        }
    }

    private void Deliver(Outgoing outgoing)
    {
        var (source, model, data, rows, labels, at) = outgoing;
        var features = data.AsSpan(0, rows * SensorFeatures.Count);
        var scores = data.AsSpan(rows * SensorFeatures.Count, rows);
        var items = new HubEvent[rows];
        var now = labels.Timestamp ?? at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        for (var i = 0; i < rows; i++)
        {
            var row = features.Slice(i * SensorFeatures.Count, SensorFeatures.Count);
            var anomaly = scores[i] >= model.Manifest.Threshold;
            var payload = new PredictionEvent(
                new StreamReading(now, row[0], row[1], row[2], labels.ToolId, labels.SensorId),
                scores[i], anomaly, source, model.Name, model.Version);
            // Serialized once, whatever the number of subscribers.
            items[i] = new HubEvent(labels.ToolId, labels.SensorId, anomaly, JsonSerializer.Serialize(payload, StreamJsonContext.Default.PredictionEvent));
        }

        lock (_gate)
        {
            var subscribers = _subscribers;
            foreach (var item in items)
            {
                item.Id = ++_lastId;
                _ring[item.Id % _ring.Length] = item;
                foreach (var subscriber in subscribers)
                {
                    if (subscriber.Filter.Matches(item))
                    {
                        // Full buffers drop their oldest event (counted by the channel's callback): never blocks.
                        subscriber.Writer.TryWrite(item);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Subscribes, replaying the buffered events after <paramref name="lastEventId"/> first; null when
    /// <see cref="StreamingOptions.MaxSubscribers"/> are already listening.
    /// </summary>
    public Subscription? TrySubscribe(StreamFilter filter, long? lastEventId)
    {
        var subscription = new Subscription(this, filter, _options.SubscriberBufferSize, _metrics);
        lock (_gate)
        {
            if (_subscribers.Length >= _options.MaxSubscribers)
            {
                return null;
            }

            if (lastEventId is { } last && last < _lastId)
            {
                // Oldest id still in the ring; anything between the client's id and it is gone.
                var oldest = Math.Max(1, _lastId - _ring.Length + 1);
                subscription.Missed = Math.Max(0, oldest - last - 1);
                for (var id = Math.Max(oldest, last + 1); id <= _lastId; id++)
                {
                    if (_ring[id % _ring.Length] is { } item && item.Id == id && filter.Matches(item))
                    {
                        subscription.Backlog.Add(item);
                    }
                }
            }

            _subscribers = [.. _subscribers, subscription];
            _subscriberCount = _subscribers.Length;
        }

        _metrics.SubscribersChanged(1);
        if (subscription.Missed > 0)
        {
            _metrics.Dropped(StreamMetrics.ReplayExpired, subscription.Missed);
        }

        return subscription;
    }

    internal void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_subscribers, subscription);
            if (index < 0)
            {
                return;
            }

            _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
            _subscriberCount = _subscribers.Length;
            if (_subscriberCount == 0)
            {
                Volatile.Write(ref _retainUntil, _time.GetTimestamp() + (long)(_options.ReplayRetention.TotalSeconds * _time.TimestampFrequency));
            }
        }

        _metrics.SubscribersChanged(-1);
    }
}

/// <summary>Rows on their way to the subscribers: features then scores in one rented array.</summary>
internal readonly record struct Outgoing(string Source, ServedModel Model, float[] Data, int Rows, ReadingLabels Labels, DateTimeOffset At);

/// <summary>An event as the hub keeps it: filter keys and its JSON, serialized once.</summary>
internal sealed class HubEvent(string? toolId, string? sensorId, bool isAnomaly, string json)
{
    /// <summary>Assigned under the hub's lock, in publish order.</summary>
    public long Id { get; set; }

    public string? ToolId { get; } = toolId;

    public string? SensorId { get; } = sensorId;

    public bool IsAnomaly { get; } = isAnomaly;

    public string Json { get; } = json;
}

/// <summary>What a subscriber asked to see (<c>tool_id</c>, <c>sensor_id</c>, <c>anomalies_only</c>).</summary>
internal readonly record struct StreamFilter(string? ToolId, string? SensorId, bool AnomaliesOnly)
{
    public bool Matches(HubEvent item) =>
        (ToolId is null || string.Equals(ToolId, item.ToolId, StringComparison.Ordinal))
        && (SensorId is null || string.Equals(SensorId, item.SensorId, StringComparison.Ordinal))
        && (!AnomaliesOnly || item.IsAnomaly);
}

/// <summary>One subscriber's bounded buffer; dispose to unsubscribe.</summary>
internal sealed class Subscription : IDisposable
{
    private readonly PredictionHub _hub;
    private readonly Channel<HubEvent> _channel;
    private long _dropped;

    public Subscription(PredictionHub hub, StreamFilter filter, int capacity, StreamMetrics metrics)
    {
        _hub = hub;
        Filter = filter;
        _channel = Channel.CreateBounded<HubEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ =>
            {
                Interlocked.Increment(ref _dropped);
                metrics.Dropped(StreamMetrics.SlowSubscriber);
            });
    }

    public StreamFilter Filter { get; }

    /// <summary>Events replayed for Last-Event-ID, sent before the live ones.</summary>
    public List<HubEvent> Backlog { get; } = [];

    /// <summary>Events the client asked to resume from that the replay buffer no longer holds.</summary>
    public long Missed { get; set; }

    public ChannelWriter<HubEvent> Writer => _channel.Writer;

    public ChannelReader<HubEvent> Reader => _channel.Reader;

    /// <summary>Events dropped since the last call.</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _hub.Remove(this);
    }
}
