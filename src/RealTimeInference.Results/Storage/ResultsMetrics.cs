using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RealTimeInference.Results.Storage;

/// <summary>What became of each prediction's row: written, stored already (a broker message delivered again), or dropped and why. Labels are a fixed set of reasons.</summary>
public sealed class ResultsMetrics
{
    public const string MeterName = "rti.results";

    /// <summary>The queue was full: the store is slower than the predictions.</summary>
    public const string QueueFull = "queue_full";

    /// <summary>The store failed every attempt to write the rows.</summary>
    public const string StoreError = "store_error";

    /// <summary>The writer had stopped (the server is shutting down).</summary>
    public const string Stopped = "stopped";

    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deleted;
    private readonly Histogram<double> _writeSeconds;
    private readonly Meter _meter;

    public ResultsMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _written = meter.CreateCounter<long>("written_total", description: "Predictions written to the results store.");
        _dropped = meter.CreateCounter<long>(
            "dropped_total", description: "Predictions not written to the results store, by reason (queue_full, store_error, stopped).");
        _duplicates = meter.CreateCounter<long>(
            "duplicates_total", description: "Rows of a redelivered broker message not stored again: its (message id, index) was stored already.");
        _deleted = meter.CreateCounter<long>("deleted_total", description: "Predictions deleted by retention.");
        _writeSeconds = meter.CreateHistogram<double>(
            "write_duration", "s", "Time of one write (one transaction) to the results store.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    /// <summary>Publishes the queue's depth as <c>rti_results_queued_rows</c>.</summary>
    public void ObserveQueue(Func<long> queuedRows) =>
        _meter.CreateObservableGauge("queued_rows", queuedRows, description: "Predictions waiting to be written to the results store.");

    public void Written(long rows, TimeSpan duration)
    {
        _written.Add(rows);
        _writeSeconds.Record(duration.TotalSeconds);
    }

    /// <summary>Counts <paramref name="rows"/> rows of a redelivered broker message skipped by a write, as stored already.</summary>
    /// <param name="rows">How many the write skipped.</param>
    public void Duplicates(long rows) => _duplicates.Add(rows);

    public void Dropped(string reason, long rows) => _dropped.Add(rows, new TagList { { "reason", reason } });

    public void Deleted(long rows) => _deleted.Add(rows);
}
