using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Alerts;

/// <summary>
/// The alert rules, with memory: per tool and sensor, the last <see cref="AlertOptions.Window"/>
/// predictions. <see cref="AlertOptions.FireAnomalies"/> anomalies among them open an alert — one per
/// sensor, never a second while it is open — and <see cref="AlertOptions.ResolveAfterNormal"/> normal
/// predictions in a row resolve it. Past <see cref="AlertOptions.MaxFiringPerTool"/> open alerts on a
/// tool, its further sensors join one tool-level alert. Called on the prediction's path: the work is a
/// lookup and a few counts under one lock; every change goes out on <see cref="Changes"/> for the store
/// and the notifications, never waited for.
/// </summary>
public sealed class AlertBook
{
    private readonly AlertOptions _options;
    private readonly AlertMetrics _metrics;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string? Tool, string? Sensor), Tracked> _sensors = [];
    private readonly Dictionary<long, Open> _open = [];
    private readonly Dictionary<string, Open> _toolAlerts = [];
    private readonly Dictionary<string, int> _openPerTool = [];
    private readonly LinkedList<AlertView> _resolved = new();
    private readonly Channel<AlertChange> _changes = Channel.CreateUnbounded<AlertChange>(new UnboundedChannelOptions { SingleReader = true });
    private long _lastId;
    private int _openCount;

    public AlertBook(IOptions<AlertOptions> options, AlertMetrics metrics)
    {
        _options = options.Value;
        _metrics = metrics;
        metrics.ObserveOpen(() => Volatile.Read(ref _openCount));
    }

    /// <summary>Every change, in order, for whoever keeps or sends them.</summary>
    public ChannelReader<AlertChange> Changes => _changes.Reader;

    /// <summary>Takes one prediction into the rules.</summary>
    public void Observe(string? toolId, string? sensorId, string model, float score, bool isAnomaly, LatencyClass latencyClass, DateTimeOffset time)
    {
        lock (_gate)
        {
            var key = (toolId, sensorId);
            if (!_sensors.TryGetValue(key, out var tracked))
            {
                // A sensor with no anomaly in its window and no open alert has nothing to remember.
                if (!isAnomaly)
                {
                    return;
                }

                if (_sensors.Count >= _options.MaxTrackedSensors)
                {
                    _metrics.Untracked();
                    return;
                }

                _sensors[key] = tracked = new Tracked(_options.Window);
            }

            tracked.Push(isAnomaly);
            if (tracked.Alert is { } open)
            {
                open.MaxScore = Math.Max(open.MaxScore, score);
                if (isAnomaly)
                {
                    tracked.NormalStreak = 0;
                }
                else if (++tracked.NormalStreak >= _options.ResolveAfterNormal)
                {
                    tracked.Alert = null;
                    Leave(open, sensorId, time);
                }
            }
            else if (tracked.Anomalies >= _options.FireAnomalies)
            {
                tracked.NormalStreak = 0;
                tracked.Alert = Fire(toolId, sensorId, model, score, latencyClass, time);
            }

            if (tracked.Alert is null && tracked.Anomalies == 0)
            {
                _sensors.Remove(key);
            }
        }
    }

    /// <summary>Acknowledges a firing alert; says why not when it is unknown, acknowledged already or resolved.</summary>
    public AckResult Acknowledge(long id, string by, string? note, DateTimeOffset time)
    {
        lock (_gate)
        {
            if (!_open.TryGetValue(id, out var open))
            {
                return _resolved.Any(r => r.Id == id) ? new AckResult(AckOutcome.AlreadyResolved, Get(id)) : new AckResult(AckOutcome.NotFound, null);
            }

            if (open.State == AlertState.Acknowledged)
            {
                return new AckResult(AckOutcome.AlreadyAcknowledged, open.View());
            }

            open.State = AlertState.Acknowledged;
            open.AcknowledgedAt = time;
            return new AckResult(AckOutcome.Acknowledged, Change(open, new AlertEvent(time, "acknowledged", By: by, Note: note)));
        }
    }

    /// <summary>Open alerts first (newest first), then resolved ones kept in memory (most recently resolved first).</summary>
    public IReadOnlyList<AlertView> List(AlertState? state, string? toolId)
    {
        lock (_gate)
        {
            return [.. _open.Values.Select(o => o.View()).OrderByDescending(a => a.Id).Concat(_resolved)
                .Where(a => (state is null || a.State == state) && (toolId is null || a.ToolId == toolId))];
        }
    }

    public AlertView? Get(long id)
    {
        lock (_gate)
        {
            return _open.TryGetValue(id, out var open) ? open.View() : _resolved.FirstOrDefault(r => r.Id == id);
        }
    }

    /// <summary>
    /// Takes back what the store kept from before a restart: the open alerts (their sensors' windows
    /// start empty, so they resolve after the usual normal run) and the most recent resolved ones.
    /// </summary>
    public void Restore(IEnumerable<AlertView> alerts, long lastId)
    {
        lock (_gate)
        {
            _lastId = Math.Max(_lastId, lastId);
            foreach (var alert in alerts.OrderBy(a => a.Id))
            {
                if (!alert.IsOpen)
                {
                    Remember(alert);
                    continue;
                }

                var open = new Open(alert);
                _open[alert.Id] = open;
                _openCount++;
                foreach (var sensor in alert.Sensors)
                {
                    var tracked = new Tracked(_options.Window) { Alert = open };
                    _sensors[(alert.ToolId, sensor)] = tracked;
                }

                if (alert.SensorId is null && alert.ToolId is { } tool)
                {
                    _toolAlerts[tool] = open;
                }
                else
                {
                    _openPerTool[alert.ToolId ?? ""] = _openPerTool.GetValueOrDefault(alert.ToolId ?? "") + 1;
                }
            }
        }
    }

    private Open Fire(string? toolId, string? sensorId, string model, float score, LatencyClass latencyClass, DateTimeOffset time)
    {
        var tool = toolId ?? "";
        if (_openPerTool.GetValueOrDefault(tool) >= _options.MaxFiringPerTool)
        {
            // Flood control: one tool-level alert gathers the tool's further sensors.
            if (_toolAlerts.TryGetValue(tool, out var toolAlert))
            {
                toolAlert.Sensors.Add(sensorId);
                toolAlert.MaxScore = Math.Max(toolAlert.MaxScore, score);
                Change(toolAlert, new AlertEvent(time, "joined", sensorId, score));
                return toolAlert;
            }

            toolAlert = New(toolId, null, model, score, latencyClass, time);
            toolAlert.Sensors.Add(sensorId);
            _toolAlerts[tool] = toolAlert;
            Change(toolAlert, new AlertEvent(time, "fired", sensorId, score));
            return toolAlert;
        }

        var alert = New(toolId, sensorId, model, score, latencyClass, time);
        alert.Sensors.Add(sensorId);
        _openPerTool[tool] = _openPerTool.GetValueOrDefault(tool) + 1;
        Change(alert, new AlertEvent(time, "fired", sensorId, score));
        return alert;
    }

    private Open New(string? toolId, string? sensorId, string model, float score, LatencyClass latencyClass, DateTimeOffset time)
    {
        var severity = latencyClass == LatencyClass.Emergency || score >= _options.CriticalScore ? AlertSeverity.Critical : AlertSeverity.Warning;
        var open = new Open(++_lastId, toolId, sensorId, model, severity, time, score);
        _open[open.Id] = open;
        _openCount++;
        _metrics.Fired(severity);
        return open;
    }

    /// <summary>A sensor of <paramref name="open"/> is normal again: a sensor alert resolves; a tool-level one when its last sensor has.</summary>
    private void Leave(Open open, string? sensorId, DateTimeOffset time)
    {
        open.Sensors.Remove(sensorId);
        if (open.Sensors.Count > 0)
        {
            return;
        }

        open.State = AlertState.Resolved;
        open.ResolvedAt = time;
        _open.Remove(open.Id);
        _openCount--;
        var tool = open.ToolId ?? "";
        if (open.SensorId is null && open.ToolId is not null && _toolAlerts.GetValueOrDefault(tool) == open)
        {
            _toolAlerts.Remove(tool);
        }
        else if (_openPerTool.TryGetValue(tool, out var count))
        {
            if (count <= 1)
            {
                _openPerTool.Remove(tool);
            }
            else
            {
                _openPerTool[tool] = count - 1;
            }
        }

        Remember(Change(open, new AlertEvent(time, "resolved", sensorId)));
    }

    private void Remember(AlertView resolved)
    {
        _resolved.AddFirst(resolved);
        while (_resolved.Count > _options.KeepResolved)
        {
            _resolved.RemoveLast();
        }
    }

    private AlertView Change(Open open, AlertEvent step)
    {
        open.Timeline.Add(step);
        var view = open.View();
        _changes.Writer.TryWrite(new AlertChange(view, step));
        return view;
    }

    public enum AckOutcome
    {
        Acknowledged,
        NotFound,
        AlreadyAcknowledged,
        AlreadyResolved,
    }

    public readonly record struct AckResult(AckOutcome Outcome, AlertView? Alert);

    /// <summary>A tool's sensor the rules follow: its window as bits, and the alert it is part of.</summary>
    private sealed class Tracked(int window)
    {
        private uint _bits;
        private int _count;

        public int Anomalies { get; private set; }

        public int NormalStreak { get; set; }

        public Open? Alert { get; set; }

        public void Push(bool anomaly)
        {
            if (_count == window)
            {
                Anomalies -= (int)((_bits >> (window - 1)) & 1);
            }
            else
            {
                _count++;
            }

            _bits = ((_bits << 1) | (anomaly ? 1u : 0u)) & (window == 32 ? uint.MaxValue : (1u << window) - 1);
            Anomalies += anomaly ? 1 : 0;
        }
    }

    /// <summary>An open alert, changed only under the book's lock.</summary>
    private sealed class Open
    {
        public Open(long id, string? toolId, string? sensorId, string model, AlertSeverity severity, DateTimeOffset startedAt, float score)
        {
            (Id, ToolId, SensorId, Model, Severity, StartedAt, MaxScore) = (id, toolId, sensorId, model, severity, startedAt, score);
        }

        public Open(AlertView restored)
            : this(restored.Id, restored.ToolId, restored.SensorId, restored.Model, restored.Severity, restored.StartedAt, restored.MaxScore)
        {
            State = restored.State;
            AcknowledgedAt = restored.AcknowledgedAt;
            Sensors.AddRange(restored.Sensors);
            Timeline.AddRange(restored.Timeline);
        }

        public long Id { get; }

        public string? ToolId { get; }

        public string? SensorId { get; }

        public string Model { get; }

        public AlertSeverity Severity { get; }

        public DateTimeOffset StartedAt { get; }

        public AlertState State { get; set; }

        public DateTimeOffset? AcknowledgedAt { get; set; }

        public DateTimeOffset? ResolvedAt { get; set; }

        public float MaxScore { get; set; }

        public List<string?> Sensors { get; } = [];

        public List<AlertEvent> Timeline { get; } = [];

        public AlertView View() =>
            new(Id, ToolId, SensorId, Model, Severity, State, StartedAt, AcknowledgedAt, ResolvedAt, MaxScore, [.. Sensors], [.. Timeline]);
    }
}
