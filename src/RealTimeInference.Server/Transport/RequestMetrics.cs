using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// Request-level instruments of every transport (bounded labels: endpoint, latency class, outcome),
/// and the sliding window behind the <c>/metrics</c> JSON summary.
/// </summary>
internal sealed class RequestMetrics
{
    // Exported as rti_<instrument>.
    public const string MeterName = "rti";

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _rejected;
    private readonly RequestMonitor _monitor;

    public RequestMetrics(IMeterFactory meterFactory, RequestMonitor monitor)
    {
        _monitor = monitor;
        var meter = meterFactory.Create(MeterName);
        _duration = meter.CreateHistogram(
            "prediction_duration_seconds",
            unit: "s",
            description: "Server time per prediction request, by endpoint, latency class and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = InferenceMetrics.DurationBuckets });
        _rejected = meter.CreateCounter<long>(
            "connections_rejected_total",
            description: "WebSockets and SSE subscriptions refused, or sockets closed, because a limit was reached, by kind (websocket, subscriber, socket_memory).");
    }

    /// <summary>
    /// Records one answered request (or socket message): its latency by endpoint, class and outcome,
    /// and in the JSON summary's window, where a 5xx counts as an error.
    /// </summary>
    public void RecordRequest(string endpoint, LatencyClass latencyClass, Outcome outcome, TimeSpan duration)
    {
        _duration.Record(duration.TotalSeconds, new TagList { { "endpoint", endpoint }, { "class", latencyClass.Name() }, { "outcome", outcome.Label() } });
        _monitor.Record(duration, success: outcome.Describe().HttpStatus < StatusCodes.Status500InternalServerError);
    }

    public void ConnectionRejected(string kind) => _rejected.Add(1, new KeyValuePair<string, object?>("kind", kind));
}
