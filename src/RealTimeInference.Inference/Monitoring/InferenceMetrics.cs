using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Inference.Batching;

namespace RealTimeInference.Inference.Monitoring;

/// <summary>The engine's instruments; label values are model names and fixed outcomes only.</summary>
public sealed class InferenceMetrics
{
    // Exported as rti_inference_<instrument> (prometheus-net prefixes the meter name).
    public const string MeterName = "rti.inference";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _rows;
    private readonly Histogram<int> _batchRows;
    private readonly Histogram<int> _batchRequests;
    private readonly Histogram<double> _compute;
    private readonly Histogram<double> _queue;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _reloads;
    private readonly ConcurrentDictionary<string, Func<long>> _queues = new();

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("requests_total", description: "Scoring requests by model and outcome (ok, rejected, cancelled, failed, stopped).");
        _rows = meter.CreateCounter<long>("rows_total", description: "Rows scored by model.");
        _batchRows = meter.CreateHistogram<int>("batch_rows", description: "Rows per model run.");
        _batchRequests = meter.CreateHistogram<int>("batch_requests", description: "Requests coalesced into one model run.");
        _compute = meter.CreateHistogram<double>("compute_seconds", unit: "s", description: "Duration of one batched model run.");
        _queue = meter.CreateHistogram<double>("queue_seconds", unit: "s", description: "Time a request waited for its batch.");
        _cache = meter.CreateCounter<long>("cache_requests_total", description: "Prediction cache look-ups by model and result (hit, miss).");
        _reloads = meter.CreateCounter<long>("model_reloads_total", description: "Model reloads by model and result (ok, failed: the old version kept serving).");
        meter.CreateObservableGauge("queued_rows", ObserveQueues, description: "Rows waiting in each model's queue.");
    }

    internal void TrackQueue(string model, Func<long> queuedRows) => _queues[model] = queuedRows;

    internal void RecordOutcome(string model, ScoreStatus status) =>
        _requests.Add(1, new TagList { { "model", model }, { "outcome", Outcome(status) } });

    internal void RecordBatch(string model, int rows, int requests, TimeSpan compute)
    {
        var tags = new TagList { { "model", model } };
        _rows.Add(rows, tags);
        _batchRows.Record(rows, tags);
        _batchRequests.Record(requests, tags);
        _compute.Record(compute.TotalSeconds, tags);
    }

    internal void RecordQueueTime(string model, TimeSpan queued) =>
        _queue.Record(queued.TotalSeconds, new TagList { { "model", model } });

    internal void RecordReload(string model, bool succeeded) =>
        _reloads.Add(1, new TagList { { "model", model }, { "result", succeeded ? "ok" : "failed" } });

    internal void RecordCache(string model, bool hit) =>
        _cache.Add(1, new TagList { { "model", model }, { "result", hit ? "hit" : "miss" } });

    private static string Outcome(ScoreStatus status) => status switch
    {
        ScoreStatus.Ok => "ok",
        ScoreStatus.Rejected => "rejected",
        ScoreStatus.Cancelled => "cancelled",
        ScoreStatus.Failed => "failed",
        _ => "stopped",
    };

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach (var (model, queued) in _queues)
        {
            yield return new Measurement<long>(queued(), new KeyValuePair<string, object?>("model", model));
        }
    }
}
