using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Models;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// Fans every prediction out to the SSE subscribers. Publishing never waits and costs the caller a
/// copy of its readings and scores: with nobody listening it returns after one volatile read;
/// otherwise they go to a bounded outbox (past <see cref="StreamingOptions.OutboxCapacity"/> rows
/// they are dropped and counted) that one background loop (<see cref="StreamPump"/>) drains,
/// encoding each event once, as the UTF-8 bytes of its whole SSE frame, for every subscriber.
/// Each subscriber has a bounded buffer that drops its oldest event when full (counted, and told
/// to that subscriber). A bounded ring of recent events, keyed by a monotonically increasing id,
/// lets a client resume with Last-Event-ID.
/// </summary>
internal sealed class PredictionHub : IPredictionSink
{
    private readonly Lock _gate = new();
    private readonly StreamingOptions _options;
    private readonly StreamMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly HubEvent?[] _ring;
    private readonly Channel<Outgoing> _outbox = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly Utf8JsonWriter _writer;
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
        _writer = new Utf8JsonWriter(_json);
    }

    /// <summary>Whether published events are kept: someone listens, or left recently enough to resume.</summary>
    public bool IsActive => _subscriberCount > 0 || _time.GetTimestamp() < Volatile.Read(ref _retainUntil);

    public int SubscriberCount => _subscriberCount;

    /// <summary>The published predictions waiting to be encoded and delivered, for <see cref="StreamPump"/>.</summary>
    internal ChannelReader<Outgoing> Outbox => _outbox.Reader;

    /// <summary>Publishes one event per reading of the batch and its score.</summary>
    public void Publish(in ScoredBatch scored)
    {
        if (!IsActive)
        {
            return;
        }

        var batch = scored.Batch;
        var rows = batch.Count;
        if (Interlocked.Add(ref _outboxRows, rows) > _options.OutboxCapacity)
        {
            Interlocked.Add(ref _outboxRows, -rows);
            _metrics.Dropped(StreamMetrics.HubOverflow, rows);
            return;
        }

        var readings = ArrayPool<SensorReading>.Shared.Rent(rows);
        var scores = ArrayPool<float>.Shared.Rent(rows);
        batch.Readings.CopyTo(readings);
        batch.Scores.Span.CopyTo(scores);
        _outbox.Writer.TryWrite(new Outgoing(scored.Origin.Source, scored.Model, readings, scores, rows));
    }

    /// <summary>Publishes one event per reading with context: its context and sensors' values copied out of the request's batch.</summary>
    public void Publish(in ScoredReadings scored)
    {
        if (!IsActive)
        {
            return;
        }

        foreach (var run in scored.Runs)
        {
            Publish(scored, run);
        }
    }

    private void Publish(in ScoredReadings scored, ScoredRun run)
    {
        var rows = run.Rows.Length;
        if (Interlocked.Add(ref _outboxRows, rows) > _options.OutboxCapacity)
        {
            Interlocked.Add(ref _outboxRows, -rows);
            _metrics.Dropped(StreamMetrics.HubOverflow, rows);
            return;
        }

        var batch = scored.Batch;
        var readings = batch.Readings;
        var contexts = new ContextRow[rows];
        var scores = ArrayPool<float>.Shared.Rent(rows);
        for (var i = 0; i < rows; i++)
        {
            var reading = readings[run.Rows[i]];
            var names = batch.Names(reading);
            var values = batch.Values(reading);
            var copied = new Dictionary<string, float>(names.Length, StringComparer.Ordinal);
            for (var v = 0; v < names.Length; v++)
            {
                copied[names[v]] = values[v];
            }

            contexts[i] = new ContextRow(reading.Timestamp, reading.Context, copied);
            scores[i] = batch.Scores[run.Rows[i]];
        }

        _outbox.Writer.TryWrite(new Outgoing(scored.Origin.Source, run.Model, null, scores, rows) { Contexts = contexts });
    }

    /// <summary>Encodes each prediction once and hands it to every subscriber whose filter it passes. Called by the pump only.</summary>
    internal void Deliver(Outgoing outgoing)
    {
        var items = new HubEvent[outgoing.Rows];
        for (var i = 0; i < items.Length; i++)
        {
            var score = outgoing.Scores[i];
            var anomaly = score >= outgoing.Model.Manifest.Threshold;
            // The pump is the only writer of ids, so they are known before the lock is taken.
            var id = _lastId + i + 1;
            if (outgoing.Contexts is { } contexts)
            {
                var row = contexts[i];
                var payload = new PredictionEvent(
                    new StreamReading(row.Timestamp, null, null, null, row.Context.ToolId, null), score, anomaly, outgoing.Source.Name(), outgoing.Model.Name, outgoing.Model.Version)
                {
                    Context = row.Context,
                    Values = row.Values,
                };
                items[i] = new HubEvent(id, row.Context.ToolId, null, anomaly, Frame(id, payload)) { ChamberId = row.Context.ChamberId };
            }
            else
            {
                var reading = outgoing.Readings![i];
                var payload = new PredictionEvent(
                    new StreamReading(reading.Timestamp, reading.Temperature, reading.Pressure, reading.FlowRate, reading.ToolId, reading.SensorId),
                    score, anomaly, outgoing.Source.Name(), outgoing.Model.Name, outgoing.Model.Version);
                items[i] = new HubEvent(id, reading.ToolId, reading.SensorId, anomaly, Frame(id, payload));
            }
        }

        lock (_gate)
        {
            // Ids are spent first: should a delivery fail half-way, no id is ever sent twice.
            _lastId += items.Length;
            var subscribers = _subscribers;
            foreach (var item in items)
            {
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

    /// <summary>Gives back what <see cref="Publish(in ScoredBatch)"/> rented for <paramref name="outgoing"/>.</summary>
    internal void Release(Outgoing outgoing)
    {
        if (outgoing.Readings is { } readings)
        {
            ArrayPool<SensorReading>.Shared.Return(readings, clearArray: true);
        }

        ArrayPool<float>.Shared.Return(outgoing.Scores);
        Interlocked.Add(ref _outboxRows, -outgoing.Rows);
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

    /// <summary>The event's whole SSE frame, <c>id: N\ndata: {json}\n\n</c>, in UTF-8: what every subscriber writes as it is.</summary>
    private byte[] Frame(long id, PredictionEvent payload)
    {
        _json.ResetWrittenCount();
        _writer.Reset(_json);
        JsonSerializer.Serialize(_writer, payload, StreamJsonContext.Default.PredictionEvent);
        Span<byte> digits = stackalloc byte[20];
        id.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture);
        var json = _json.WrittenSpan;
        var frame = new byte[IdPrefix.Length + length + DataPrefix.Length + json.Length + 2];
        var at = Append(frame, 0, IdPrefix);
        at = Append(frame, at, digits[..length]);
        at = Append(frame, at, DataPrefix);
        at = Append(frame, at, json);
        Append(frame, at, "\n\n"u8);
        return frame;
    }

    private static int Append(byte[] frame, int at, ReadOnlySpan<byte> part)
    {
        part.CopyTo(frame.AsSpan(at));
        return at + part.Length;
    }

    private static ReadOnlySpan<byte> IdPrefix => "id: "u8;

    private static ReadOnlySpan<byte> DataPrefix => "\ndata: "u8;

    /// <summary>An event's frame without an id (a <c>dropped</c> notice), in UTF-8.</summary>
    internal static byte[] NamedFrame(string eventType, string json) => Encoding.UTF8.GetBytes($"event: {eventType}\ndata: {json}\n\n");
}

/// <summary>Predictions on their way to the subscribers: the seed's readings (rented) or readings with context, and their scores (rented).</summary>
internal readonly record struct Outgoing(PredictionSource Source, ServedModel Model, SensorReading[]? Readings, float[] Scores, int Rows)
{
    /// <summary>Readings with context, instead of <see cref="Readings"/>.</summary>
    public ContextRow[]? Contexts { get; init; }
}

/// <summary>A reading with context as the stream shows it, copied out of its request.</summary>
internal readonly record struct ContextRow(DateTimeOffset Timestamp, ReadingContext Context, IReadOnlyDictionary<string, float> Values);

/// <summary>An event as the hub keeps it: its id, filter keys and its SSE frame, encoded once.</summary>
internal sealed record HubEvent(long Id, string? ToolId, string? SensorId, bool IsAnomaly, byte[] Frame)
{
    public string? ChamberId { get; init; }
}

/// <summary>What a subscriber asked to see (<c>tool_id</c>, <c>chamber_id</c>, <c>sensor_id</c>, <c>anomalies_only</c>).</summary>
internal readonly record struct StreamFilter(string? ToolId, string? SensorId, bool AnomaliesOnly, string? ChamberId = null)
{
    public bool Matches(HubEvent item) =>
        (ToolId is null || string.Equals(ToolId, item.ToolId, StringComparison.Ordinal))
        && (ChamberId is null || string.Equals(ChamberId, item.ChamberId, StringComparison.Ordinal))
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
