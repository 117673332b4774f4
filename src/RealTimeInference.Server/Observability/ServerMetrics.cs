using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Observability;

/// <summary>Request-level instruments of the prediction endpoints (bounded labels: route, latency class, outcome).</summary>
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
            description: "Server time per prediction request, by endpoint, latency class and outcome.");
        meter.CreateObservableCounter(
            "log_events_dropped_total",
            () => logDrops.Dropped,
            description: "Log events dropped because the log buffer was full.");
    }

    public void RecordPrediction(string endpoint, LatencyClass latencyClass, string outcome, TimeSpan duration) =>
        _duration.Record(duration.TotalSeconds, new TagList { { "endpoint", endpoint }, { "class", latencyClass.Name() }, { "outcome", outcome } });
}
