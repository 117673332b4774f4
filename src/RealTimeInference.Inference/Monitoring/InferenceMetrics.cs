using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;

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
    private readonly Counter<long> _cache;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _deadlineMisses;
    private readonly Counter<long> _fallbacks;
    private Func<IEnumerable<(string Model, CircuitState State)>> _breakers = () => [];
    private readonly ConcurrentDictionary<string, Func<long>> _queues = new();

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("requests_total", description: "Scoring requests by model and outcome (ok, rejected, shed, expired, cancelled, failed, stopped).");
        _rows = meter.CreateCounter<long>("rows_total", description: "Rows scored by model.");
        _batchRows = meter.CreateHistogram<int>("batch_rows", description: "Rows per model run.");
        _batchRequests = meter.CreateHistogram<int>("batch_requests", description: "Requests coalesced into one model run.");
        _compute = meter.CreateHistogram<double>("compute_seconds", unit: "s", description: "Duration of one batched model run.");
        _cache = meter.CreateCounter<long>("cache_requests_total", description: "Prediction cache look-ups by model and result (hit, miss).");
        _reloads = meter.CreateCounter<long>("model_reloads_total", description: "Model reloads by model and result (ok, failed: the old version kept serving).");
        _dropped = meter.CreateCounter<long>("dropped_total", description: "Requests not computed, by model, latency class and reason (queue_full, sampled, deadline_unmeetable, deadline_expired, shed_oldest, shed_newest).");
        _deadlineMisses = meter.CreateCounter<long>("deadline_misses_total", description: "Computed requests answered after their deadline, by model and latency class.");
        _fallbacks = meter.CreateCounter<long>("fallbacks_total", description: "Requests a model could not answer, by model and who answered instead (fallback, safe_default).");
        meter.CreateObservableGauge("breaker_state", ObserveBreakers, description: "Each model's circuit breaker: 0 closed, 1 open, 2 half-open, 3 isolated.");
        meter.CreateObservableGauge("queued_rows", ObserveQueues, description: "Rows waiting in each model's queue.");
    }

    internal void TrackBreakers(Func<IEnumerable<(string Model, CircuitState State)>> breakers) => _breakers = breakers;

    internal void RecordFallback(string model, Answerer answerer) =>
        _fallbacks.Add(1, new TagList { { "model", model }, { "answer", answerer == Answerer.Fallback ? "fallback" : "safe_default" } });

    internal void TrackQueue(string model, Func<long> queuedRows) => _queues[model] = queuedRows;

    internal void RecordOutcome(string model, ScoreStatus status, int requests = 1) =>
        _requests.Add(requests, new TagList { { "model", model }, { "outcome", Outcome(status) } });

    internal void RecordBatch(string model, int rows, int requests, TimeSpan compute)
    {
        var tags = new TagList { { "model", model } };
        _rows.Add(rows, tags);
        _batchRows.Record(rows, tags);
        _batchRequests.Record(requests, tags);
        _compute.Record(compute.TotalSeconds, tags);
    }

    internal void RecordDrop(string model, LatencyClass latencyClass, DropReason reason)
    {
        if (reason != DropReason.None)
        {
            _dropped.Add(1, new TagList { { "model", model }, { "class", latencyClass.Name() }, { "reason", ReasonLabel(reason) } });
        }
    }

    internal void RecordDeadlineMiss(string model, LatencyClass latencyClass) =>
        _deadlineMisses.Add(1, new TagList { { "model", model }, { "class", latencyClass.Name() } });

    internal void RecordReload(string model, bool succeeded) =>
        _reloads.Add(1, new TagList { { "model", model }, { "result", succeeded ? "ok" : "failed" } });

    internal void RecordCache(string model, bool hit) =>
        _cache.Add(1, new TagList { { "model", model }, { "result", hit ? "hit" : "miss" } });

    private static string Outcome(ScoreStatus status) => status switch
    {
        ScoreStatus.Ok => "ok",
        ScoreStatus.Rejected => "rejected",
        ScoreStatus.Shed => "shed",
        ScoreStatus.Expired => "expired",
        ScoreStatus.Cancelled => "cancelled",
        ScoreStatus.Failed => "failed",
        _ => "stopped",
    };

    /// <summary>The <c>reason</c> label: the enum name in snake case.</summary>
    public static string ReasonLabel(DropReason reason) => reason switch
    {
        DropReason.QueueFull => "queue_full",
        DropReason.Sampled => "sampled",
        DropReason.DeadlineUnmeetable => "deadline_unmeetable",
        DropReason.DeadlineExpired => "deadline_expired",
        DropReason.ShedOldest => "shed_oldest",
        DropReason.ShedNewest => "shed_newest",
        _ => "none",
    };

    private IEnumerable<Measurement<int>> ObserveBreakers() =>
        _breakers().Select(b => new Measurement<int>((int)b.State, new KeyValuePair<string, object?>("model", b.Model)));

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach (var (model, queued) in _queues)
        {
            yield return new Measurement<long>(queued(), new KeyValuePair<string, object?>("model", model));
        }
    }
}
