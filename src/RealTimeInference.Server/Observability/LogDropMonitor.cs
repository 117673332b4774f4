using System.Diagnostics.Metrics;
using RealTimeInference.Server.Transport;
using Serilog.Sinks.Async;

namespace RealTimeInference.Server.Observability;

/// <summary>Exposes how many log events the bounded async sink had to drop, so none is lost silently.</summary>
internal sealed class LogDropMonitor : IAsyncLogEventSinkMonitor
{
    private IAsyncLogEventSinkInspector? _inspector;

    public LogDropMonitor(IMeterFactory meterFactory) =>
        meterFactory.Create(RequestMetrics.MeterName).CreateObservableCounter(
            "log_events_dropped_total", () => Dropped, description: "Log events dropped because the log buffer was full.");

    public long Dropped => _inspector?.DroppedMessagesCount ?? 0;

    public void StartMonitoring(IAsyncLogEventSinkInspector inspector) => _inspector = inspector;

    public void StopMonitoring(IAsyncLogEventSinkInspector inspector) => _inspector = null;
}
