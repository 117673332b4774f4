using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RealTimeInference.Results.Notifications;

/// <summary>Notifications per sink (labels: the configured sinks' names, and a fixed set of results).</summary>
public sealed class NotificationMetrics
{
    public const string MeterName = "rti.alert";

    private readonly Counter<long> _notifications;
    private readonly Histogram<double> _notifySeconds;

    public NotificationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _notifications = meter.CreateCounter<long>(
            "notifications_total", description: "Alert notifications by sink and result (delivered; failed: a try the receiver refused or did not answer; dropped: past the in-memory outbox's bound, with no results store).");
        _notifySeconds = meter.CreateHistogram<double>(
            "notify", "s", "From the prediction that changed an alert to the sink's 2xx.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
    }

    public void Delivered(string sink, TimeSpan sinceChange)
    {
        _notifications.Add(1, new TagList { { "sink", sink }, { "result", "delivered" } });
        _notifySeconds.Record(sinceChange.TotalSeconds, new TagList { { "sink", sink } });
    }

    public void Failed(string sink) => _notifications.Add(1, new TagList { { "sink", sink }, { "result", "failed" } });

    public void Dropped(string sink) => _notifications.Add(1, new TagList { { "sink", sink }, { "result", "dropped" } });
}
