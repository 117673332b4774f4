using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Streaming;

/// <summary>Instruments of the prediction stream; labels are a fixed set of reasons.</summary>
internal sealed class StreamMetrics
{
    public const string SlowSubscriber = "slow_subscriber";
    public const string ReplayExpired = "replay_expired";
    public const string HubOverflow = "hub_overflow";
    public const string PumpFault = "pump_fault";

    private readonly Counter<long> _dropped;
    private readonly UpDownCounter<int> _subscribers;

    public StreamMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RequestMetrics.MeterName);
        _dropped = meter.CreateCounter<long>(
            "stream_events_dropped_total",
            description: "Prediction events an SSE subscriber did not get, by reason (slow_subscriber, replay_expired, hub_overflow, pump_fault).");
        _subscribers = meter.CreateUpDownCounter<int>("stream_subscribers", description: "Open SSE subscriptions.");
    }

    public void Dropped(string reason, long count = 1) => _dropped.Add(count, new TagList { { "reason", reason } });

    public void SubscribersChanged(int delta) => _subscribers.Add(delta);
}
