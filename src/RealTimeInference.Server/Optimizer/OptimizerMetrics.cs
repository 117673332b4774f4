using System.Diagnostics;
using System.Diagnostics.Metrics;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Optimizer;

/// <summary>Instruments of the optimizer; labels are its fixed actions and drop reasons.</summary>
internal sealed class OptimizerMetrics
{
    private readonly Histogram<double> _cycle;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _dropped;

    public OptimizerMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RequestMetrics.MeterName);
        _cycle = meter.CreateHistogram(
            "optimizer_cycle_duration_seconds",
            unit: "s",
            description: "Server time of one optimizer cycle: every tool's candidates scored (one batched request per tool) and decided.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _decisions = meter.CreateCounter<long>(
            "optimizer_decisions_total",
            description: "Optimizer decisions by action, each counted once when made and once more when applied: recommended, applied, kept (no gain, or a model that gave no yield), skipped (the yield model did not answer: overload, unavailable).");
        _dropped = meter.CreateCounter<long>(
            "optimizer_decisions_dropped_total",
            description: "Decision records not stored or not completed, by reason (queue_full: the store fell behind; stopped: the server was stopping; store_failed: the store refused them; unmeasured: more than 64 of a tool's decisions waited for their measured yield).");
    }

    public void Cycle(TimeSpan duration) => _cycle.Record(duration.TotalSeconds);

    public void Decided(string action) => _decisions.Add(1, new TagList { { "action", action } });

    public void Dropped(string reason, long count = 1) => _dropped.Add(count, new TagList { { "reason", reason } });
}
