using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Server.Observability;

namespace RealTimeInference.Server.Streaming;

/// <summary>Instruments of the streams; labels are a fixed set of reasons.</summary>
internal sealed class StreamMetrics
{
    public const string SlowSubscriber = "slow_subscriber";
    public const string ReplayExpired = "replay_expired";
    public const string HubOverflow = "hub_overflow";

    private readonly Counter<long> _dropped;
    private readonly Counter<long> _rejected;
    private int _subscribers;
    private int _sockets;

    public StreamMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ServerMetrics.MeterName);
        _dropped = meter.CreateCounter<long>(
            "stream_events_dropped_total",
            description: "Prediction events an SSE subscriber did not get, by reason.");
        _rejected = meter.CreateCounter<long>(
            "stream_connections_rejected_total",
            description: "SSE subscriptions and WebSockets refused because their limit was reached, by kind.");
        meter.CreateObservableGauge("stream_subscribers", () => Volatile.Read(ref _subscribers), description: "Open SSE subscriptions.");
        meter.CreateObservableGauge("websocket_connections", () => Volatile.Read(ref _sockets), description: "Open WebSockets on /ws/predict.");
    }

    public void Dropped(string reason, long count = 1) => _dropped.Add(count, new TagList { { "reason", reason } });

    public void Rejected(string kind) => _rejected.Add(1, new TagList { { "kind", kind } });

    public void SubscribersChanged(int delta) => Interlocked.Add(ref _subscribers, delta);

    public void SocketsChanged(int delta) => Interlocked.Add(ref _sockets, delta);
}
