using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RealTimeInference.Results.Alerts;

/// <summary>Alerts opened, open now, and predictions the rules could not follow; labels are fixed sets.</summary>
public sealed class AlertMetrics
{
    public const string MeterName = "rti.alerts";

    private readonly Meter _meter;
    private readonly Counter<long> _fired;
    private readonly Counter<long> _untracked;
    private readonly Counter<long> _folded;
    private readonly Counter<long> _suppressed;
    private readonly Counter<long> _uncharted;

    public AlertMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _fired = _meter.CreateCounter<long>("fired_total", description: "Alerts opened, by severity (warning, critical).");
        _untracked = _meter.CreateCounter<long>(
            "untracked_total", description: "Anomalous predictions of a sensor the rules could not follow: Alerts:MaxTrackedSensors were followed already.");
        _folded = _meter.CreateCounter<long>(
            "folded_total", description: "Alerts not opened because their group was flooding (past Alerts:FloodThreshold in Alerts:FloodWindowMinutes): folded into its flood alert.");
        _suppressed = _meter.CreateCounter<long>(
            "suppressed_total", description: "Alerts not opened, by reason: shelved (the group was shelved) or tool_state (the tool was not productive).");
        _uncharted = _meter.CreateCounter<long>(
            "spc_uncharted_total", description: "Monitored values of a context not charted: Spc:MaxCharts charts were kept already.");
    }

    public void ObserveStreamDropped(Func<long> dropped) =>
        _meter.CreateObservableCounter("stream_dropped_total", dropped, description: "Alert changes a slow /stream-alerts subscriber did not get.");

    public void ObserveOpen(Func<int> open) => _meter.CreateObservableGauge("open", open, description: "Alerts firing or acknowledged.");

    public void Fired(AlertSeverity severity) =>
        _fired.Add(1, new TagList { { "severity", severity == AlertSeverity.Critical ? "critical" : "warning" } });

    public void Untracked() => _untracked.Add(1);

    public void Folded() => _folded.Add(1);

    public void Uncharted() => _uncharted.Add(1);

    /// <summary>An alert that would have opened did not: <c>shelved</c> or <c>tool_state</c>.</summary>
    public void Suppressed(string reason) => _suppressed.Add(1, new TagList { { "reason", reason } });
}
