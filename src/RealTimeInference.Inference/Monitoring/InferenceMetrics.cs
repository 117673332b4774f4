using System.Diagnostics;
using System.Diagnostics.Metrics;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Monitoring;

/// <summary>The engine's instruments; label values are model names, latency classes and outcome labels only.</summary>
public sealed class InferenceMetrics
{
    // Exported as rti_inference_<instrument>.
    public const string MeterName = "rti.inference";

    /// <summary>Bucket bounds of the row and request count histograms.</summary>
    public static readonly IReadOnlyList<int> SizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

    /// <summary>
    /// Bucket bounds of durations, in seconds: fine below a millisecond, and an edge at each latency
    /// class's budget (emergency 0.1 s, process control 1 s, defect detection 5 s, yield 30 s).
    /// </summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

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
    private readonly UpDownCounter<long> _queued;
    private readonly Counter<long> _loads;
    private readonly Counter<long> _unloads;
    private readonly Histogram<double> _loadSeconds;
    private Func<int> _loaded = () => 0;
    private Func<IEnumerable<(string Model, CircuitState State)>> _breakers = () => [];

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>(
            "requests_total", description: "Scoring requests by model and outcome (ok, queue_full, sampled, shed_oldest, shed_newest, deadline_unmeetable, deadline_expired, cancelled, failed, unavailable).");
        _rows = meter.CreateCounter<long>("rows_total", description: "Rows scored by model.");
        _batchRows = meter.CreateHistogram("batch_rows", description: "Rows per model run.", advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = SizeBuckets });
        _batchRequests = meter.CreateHistogram(
            "batch_requests", description: "Requests coalesced into one model run.", advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = SizeBuckets });
        _compute = meter.CreateHistogram(
            "compute_seconds", unit: "s", description: "Duration of one batched model run.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _cache = meter.CreateCounter<long>("cache_requests_total", description: "Prediction cache look-ups by model and result (hit, miss).");
        _reloads = meter.CreateCounter<long>("model_reloads_total", description: "Model reloads by model and result (ok, failed: the old version kept serving).");
        _dropped = meter.CreateCounter<long>(
            "dropped_total", description: "Requests not computed, by model, latency class and reason (queue_full, sampled, shed_oldest, shed_newest, deadline_unmeetable, deadline_expired).");
        _deadlineMisses = meter.CreateCounter<long>("deadline_misses_total", description: "Computed requests answered after their deadline, by model and latency class.");
        _fallbacks = meter.CreateCounter<long>("fallbacks_total", description: "Requests a model could not answer, by model and who answered instead (fallback, safe_default).");
        _queued = meter.CreateUpDownCounter<long>("queued_rows", description: "Rows waiting in each model's queue.");
        _loads = meter.CreateCounter<long>("model_loads_total", description: "Model loads by model, reason (startup, first_use, explicit) and result (ok, failed).");
        _unloads = meter.CreateCounter<long>("model_unloads_total", description: "Models unloaded, by model and reason (explicit, lru: the least recently used one, to stay within Inference:MaxLoadedModels).");
        _loadSeconds = meter.CreateHistogram(
            "model_load_seconds", unit: "s", description: "Time to open, check and warm up one model version.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        meter.CreateObservableGauge("models_loaded", () => _loaded(), description: "Models loaded now (each with every version its policy serves).");
        meter.CreateObservableGauge("breaker_state", ObserveBreakers, description: "Each model's circuit breaker: 0 closed, 1 open, 2 half-open, 3 isolated.");
    }

    internal void TrackBreakers(Func<IEnumerable<(string Model, CircuitState State)>> breakers) => _breakers = breakers;

    internal void RecordFallback(string model, Answerer answerer) =>
        _fallbacks.Add(1, new TagList { { "model", model }, { "answer", answerer == Answerer.Fallback ? "fallback" : "safe_default" } });

    internal void QueueChanged(string model, long rows)
    {
        if (rows != 0)
        {
            _queued.Add(rows, new KeyValuePair<string, object?>("model", model));
        }
    }

    /// <summary>Counts work that was not scored: by outcome, and when it was dropped, by class and reason too.</summary>
    internal void RecordOutcome(string model, LatencyClass latencyClass, Outcome outcome)
    {
        _requests.Add(1, new TagList { { "model", model }, { "outcome", outcome.Label() } });
        if (outcome.Describe().IsDrop)
        {
            _dropped.Add(1, new TagList { { "model", model }, { "class", latencyClass.Name() }, { "reason", outcome.Label() } });
        }
    }

    internal void RecordOk(string model, int requests) =>
        _requests.Add(requests, new TagList { { "model", model }, { "outcome", Outcome.Ok.Label() } });

    internal void RecordBatch(string model, int rows, int requests, TimeSpan compute)
    {
        var tags = new TagList { { "model", model } };
        _rows.Add(rows, tags);
        _batchRows.Record(rows, tags);
        _batchRequests.Record(requests, tags);
        _compute.Record(compute.TotalSeconds, tags);
    }

    internal void RecordDeadlineMiss(string model, LatencyClass latencyClass) =>
        _deadlineMisses.Add(1, new TagList { { "model", model }, { "class", latencyClass.Name() } });

    internal void RecordReload(string model, bool succeeded) =>
        _reloads.Add(1, new TagList { { "model", model }, { "result", succeeded ? "ok" : "failed" } });

    internal void TrackLoaded(Func<int> loaded) => _loaded = loaded;

    internal void RecordLoad(string model, string reason, bool succeeded, TimeSpan took)
    {
        _loads.Add(1, new TagList { { "model", model }, { "reason", reason }, { "result", succeeded ? "ok" : "failed" } });
        _loadSeconds.Record(took.TotalSeconds, new KeyValuePair<string, object?>("model", model));
    }

    internal void RecordUnload(string model, string reason) =>
        _unloads.Add(1, new TagList { { "model", model }, { "reason", reason } });

    internal void RecordCache(string model, bool hit) =>
        _cache.Add(1, new TagList { { "model", model }, { "result", hit ? "hit" : "miss" } });

    private IEnumerable<Measurement<int>> ObserveBreakers() =>
        _breakers().Select(b => new Measurement<int>((int)b.State, new KeyValuePair<string, object?>("model", b.Model)));
}
