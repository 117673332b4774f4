using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RealTimeInference.Server.Observability;

/// <summary>Request-level instruments of the prediction endpoints (bounded labels: route and outcome).</summary>
internal sealed class ServerMetrics
{
    // Exported as rti_<instrument> (prometheus-net prefixes the meter name).
    public const string MeterName = "rti";

    private readonly Histogram<double> _duration;

    public ServerMetrics(IMeterFactory meterFactory, LogDropMonitor logDrops)
    {
        var meter = meterFactory.Create(MeterName);
        _duration = meter.CreateHistogram<double>(
            "prediction_duration_seconds",
            unit: "s",
            description: "Server time per prediction request, by endpoint and outcome.");
        meter.CreateObservableCounter(
            "log_events_dropped_total",
            () => logDrops.Dropped,
            description: "Log events dropped because the log buffer was full.");
    }

    public void RecordPrediction(string endpoint, string outcome, TimeSpan duration) =>
        _duration.Record(duration.TotalSeconds, new TagList { { "endpoint", endpoint }, { "outcome", outcome } });
}
