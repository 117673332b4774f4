using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Alerts;

/// <summary>
/// The alert rules, with memory, and the alarm management around them (ISA-18.2 / EEMUA 191). Per
/// tool, chamber and sensor (or model, or monitored value) the rule follows the last
/// <see cref="AlertOptions.Window"/> predictions: <see cref="AlertOptions.FireAnomalies"/> anomalies
/// among them (or another rule's verdict, an SPC rule's) make the sensor abnormal, and
/// <see cref="AlertOptions.ResolveAfterNormal"/> normal predictions in a row normal again. One alert
/// opens per episode of a group (<see cref="AlertOptions.GroupBy"/>, by default a tool's chamber):
/// every further abnormal sensor of the group joins it, and it resolves when the last is normal.
/// Past <see cref="AlertOptions.FloodThreshold"/> alerts of one group within
/// <see cref="AlertOptions.FloodWindowMinutes"/>, further ones fold into one flood alert, counted. A
/// shelved group, or a tool not productive, opens none (counted). Called on the prediction's path:
/// a lookup and a few counts under one lock; every change goes out on <see cref="Changes"/> for the
/// store and the notifications, never waited for.
/// </summary>
public sealed class AlertBook
{
    private readonly AlertOptions _options;
    private readonly AlertMetrics _metrics;
    private readonly TimeSpan _floodWindow;
    private readonly bool _byTool;
    private readonly bool _byChamber;
    private readonly bool _bySensor;
    private readonly Lock _gate = new();
    /// <summary>
    /// The sensors in an episode or with an anomaly in their window. Changed under the lock only; read
    /// without it too, so that a normal verdict of a sensor not in it passes by without the lock.
    /// </summary>
    private readonly ConcurrentDictionary<(string? Tool, string? Chamber, string? Sensor), Tracked> _sensors = new();
    private int _trackedCount;
    private readonly Dictionary<(string? Tool, string? Chamber, string? Sensor), Group> _groups = [];
    /// <summary>The last sensor and group looked up, under the lock: a batch's verdicts come a sensor's run at a time.</summary>
    private Last<Tracked> _lastSensor;
    private Last<Group> _lastGroup;
    private readonly Dictionary<long, Open> _open = [];
    private readonly Dictionary<string, ToolStateView> _toolStates = new(StringComparer.Ordinal);
    private readonly LinkedList<AlertView> _resolved = new();
    private readonly Channel<AlertChange> _changes = Channel.CreateUnbounded<AlertChange>(new UnboundedChannelOptions { SingleReader = true });
    private long _lastId;
    private int _openCount;
    private volatile int _floodCount;

    public AlertBook(IOptions<AlertOptions> options, AlertMetrics metrics)
    {
        _options = options.Value;
        _metrics = metrics;
        _floodWindow = TimeSpan.FromMinutes(_options.FloodWindowMinutes);
        _byTool = _options.GroupBy.Contains("tool_id");
        _byChamber = _options.GroupBy.Contains("chamber_id");
        _bySensor = _options.GroupBy.Contains("sensor_id");
        metrics.ObserveOpen(() => Volatile.Read(ref _openCount));
    }

    /// <summary>Every change, in order, for whoever keeps or sends them.</summary>
    public ChannelReader<AlertChange> Changes => _changes.Reader;

    /// <summary>Takes one prediction of a tool's sensor (no chamber) into the rules.</summary>
    public void Observe(string? toolId, string? sensorId, string model, float score, bool isAnomaly, LatencyClass latencyClass, DateTimeOffset time) =>
        Observe(toolId, null, sensorId, model, score, isAnomaly, latencyClass, time);

    /// <summary>
    /// Takes one verdict into the rules: of <paramref name="sensor"/> (a sensor, the model that judged
    /// the chamber, or a monitored value) on <paramref name="toolId"/>'s <paramref name="chamberId"/>.
    /// <paramref name="rule"/> names the rule when another one judged the point (an SPC chart): then
    /// one anomaly makes the sensor abnormal; otherwise the k-of-n rule counts. <paramref name="evidence"/>
    /// says why, for the alert's timeline (the rule's points and limits).
    /// </summary>
    public void Observe(
        string? toolId, string? chamberId, string? sensor, string model, float score, bool isAnomaly, LatencyClass latencyClass, DateTimeOffset time,
        string? rule = null, string? evidence = null) =>
        Observe([new Verdict(toolId, chamberId, sensor, model, score, isAnomaly, latencyClass, time, rule, evidence is null ? null : () => evidence)]);

    /// <summary>
    /// Whether a normal verdict of <paramref name="sensor"/> on <paramref name="toolId"/>'s <paramref name="chamberId"/>
    /// can change anything: false while the sensor has no anomaly in its window, no open alert and no
    /// flood, when its normal verdicts may be left out (read without the lock, as <see cref="Observe(ReadOnlySpan{Verdict})"/> does).
    /// </summary>
    public bool Follows(string? toolId, string? chamberId, string? sensor) => _floodCount > 0 || _sensors.ContainsKey((toolId, chamberId, sensor));

    /// <summary>Takes many verdicts into the rules at once, in order, as <see cref="Observe(string?, string?, string?, string, float, bool, LatencyClass, DateTimeOffset, string?, string?)"/> one: the rules' lock is taken once for them all.</summary>
    public void Observe(ReadOnlySpan<Verdict> verdicts)
    {
        // Most batches are all normal verdicts of sensors the rules do not follow: those change nothing.
        var changes = false;
        foreach (ref readonly var v in verdicts)
        {
            if (v.IsAnomaly || Follows(v.ToolId, v.ChamberId, v.Sensor))
            {
                changes = true;
                break;
            }
        }

        if (!changes)
        {
            return;
        }

        lock (_gate)
        {
            foreach (ref readonly var v in verdicts)
            {
                ObserveLocked(v);
            }
        }
    }

    private void ObserveLocked(in Verdict verdict)
    {
        var (toolId, chamberId, sensor, model, score, isAnomaly, latencyClass, time, rule, evidence) = verdict;
        var key = (toolId, chamberId, sensor);
        if (!_lastSensor.TryGet(key, out var tracked) && _sensors.TryGetValue(key, out tracked))
        {
            _lastSensor = new(key, tracked);
        }

        if (tracked is null)
        {
            // A sensor with no anomaly in its window and no open alert has nothing to remember.
            if (!isAnomaly)
            {
                EndFlood(key, time);
                return;
            }

            if (_trackedCount >= _options.MaxTrackedSensors)
            {
                _metrics.Untracked();
                return;
            }

            _sensors[key] = tracked = new Tracked(_options.Window);
            _trackedCount++;
        }

        tracked.Push(isAnomaly);
        if (tracked.Alert is { } open)
        {
            open.MaxScore = Math.Max(open.MaxScore, score);
            if (isAnomaly)
            {
                tracked.NormalStreak = 0;
                if (rule is not null && open.Rules.Add($"{sensor}: {rule}") && Records(open))
                {
                    Change(open, new AlertEvent(time, "joined", sensor, score, Note: evidence?.Invoke() ?? rule), quiet: open.IsShelved(time));
                }
            }
            else if (++tracked.NormalStreak >= _options.ResolveAfterNormal)
            {
                tracked.Alert = null;
                Leave(open, sensor, time);
            }
        }
        else if (rule is not null ? isAnomaly : tracked.Anomalies >= _options.FireAnomalies)
        {
            tracked.NormalStreak = 0;
            tracked.Alert = Raise(key, model, score, latencyClass, time, rule ?? $"{_options.FireAnomalies} of {_options.Window}", evidence);
        }

        if (tracked.Alert is null && tracked.Anomalies == 0)
        {
            _sensors.TryRemove(key, out _);
            _lastSensor = default;
            _trackedCount--;
        }

        EndFlood(key, time);
    }

    /// <summary>Acknowledges a firing alert; says why not when it is unknown, acknowledged already or resolved.</summary>
    public AckResult Acknowledge(long id, string by, string? note, DateTimeOffset time)
    {
        lock (_gate)
        {
            if (!_open.TryGetValue(id, out var open))
            {
                return NotOpen(id);
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

    /// <summary>
    /// Shelves an open alert's group for <paramref name="duration"/>: no new alert opens for it and a
    /// joining sensor notifies no one, until the time passes (by itself). Audited on the alert's timeline.
    /// </summary>
    public AckResult Shelve(long id, TimeSpan duration, string by, string? reason, DateTimeOffset time)
    {
        lock (_gate)
        {
            if (!_open.TryGetValue(id, out var open))
            {
                return NotOpen(id);
            }

            var until = time + duration;
            GroupOf(open.Key).ShelvedUntil = until;
            open.ShelvedUntil = until;
            return new AckResult(AckOutcome.Acknowledged, Change(open, new AlertEvent(time, "shelved", By: by, Note: reason)));
        }
    }

    /// <summary>Sets a tool's state: while not productive it opens no alert (its open ones run their course).</summary>
    public void SetToolState(ToolStateView state)
    {
        lock (_gate)
        {
            _toolStates[state.ToolId] = state;
        }
    }

    /// <summary>A tool's state: productive, since ever, when never set.</summary>
    public ToolStateView ToolStateOf(string toolId)
    {
        lock (_gate)
        {
            return _toolStates.TryGetValue(toolId, out var state) ? state : new ToolStateView(toolId, ToolState.Productive, DateTimeOffset.MinValue, "", null);
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
    /// start empty, so they resolve after the usual normal run), the most recent resolved ones, and the tools' states.
    /// </summary>
    public void Restore(IEnumerable<AlertView> alerts, long lastId, IEnumerable<ToolStateView>? toolStates = null)
    {
        lock (_gate)
        {
            _lastId = Math.Max(_lastId, lastId);
            foreach (var state in toolStates ?? [])
            {
                _toolStates[state.ToolId] = state;
            }

            foreach (var alert in alerts.OrderBy(a => a.Id))
            {
                if (!alert.IsOpen)
                {
                    Remember(alert);
                    continue;
                }

                var open = new Open(alert, GroupKey(alert.ToolId, alert.ChamberId, alert.SensorId));
                _open[alert.Id] = open;
                _openCount++;
                var group = GroupOf(open.Key);
                group.ShelvedUntil = alert.ShelvedUntil;
                if (alert.Kind == AlertGroups.Flood)
                {
                    group.Flood = open;
                    group.LastFold = alert.Timeline.Count > 0 ? alert.Timeline[^1].Time : alert.StartedAt;
                    _floodCount++;
                }
                else
                {
                    group.Alert = open;
                    group.Opened.Enqueue(alert.StartedAt);
                }

                foreach (var sensor in alert.Sensors)
                {
                    if (_sensors.TryAdd((alert.ToolId, alert.ChamberId, sensor), new Tracked(_options.Window) { Alert = open }))
                    {
                        _trackedCount++;
                    }
                }
            }
        }
    }

    private AckResult NotOpen(long id) =>
        _resolved.Any(r => r.Id == id) ? new AckResult(AckOutcome.AlreadyResolved, Get(id)) : new AckResult(AckOutcome.NotFound, null);

    private (string? Tool, string? Chamber, string? Sensor) GroupKey(string? tool, string? chamber, string? sensor) =>
        (_byTool ? tool : null, _byChamber ? chamber : null, _bySensor ? sensor : null);

    private Group GroupOf((string? Tool, string? Chamber, string? Sensor) key)
    {
        if (!TryGroup(key, out var group))
        {
            _groups[key] = group = new Group();
            _lastGroup = new(key, group);
        }

        return group;
    }

    /// <summary>The sensor is abnormal: it joins its group's open alert, folds into its flood alert, or opens one — unless suppressed.</summary>
    private Open? Raise(
        (string? Tool, string? Chamber, string? Sensor) sensorKey, string model, float score, LatencyClass latencyClass, DateTimeOffset time, string rule, Func<string>? evidence)
    {
        var (tool, chamber, sensor) = sensorKey;
        if (tool is not null && _toolStates.TryGetValue(tool, out var state) && state.State != ToolState.Productive)
        {
            _metrics.Suppressed("tool_state");
            return null;
        }

        var key = GroupKey(tool, chamber, sensor);
        var group = GroupOf(key);
        var shelved = group.ShelvedUntil > time;
        if (group.Alert is { } open)
        {
            Join(open, sensor, score, rule, evidence, time, "joined", quiet: shelved);
            return open;
        }

        if (shelved)
        {
            _metrics.Suppressed("shelved");
            return null;
        }

        while (group.Opened.TryPeek(out var opened) && time - opened >= _floodWindow)
        {
            group.Opened.Dequeue();
        }

        if (group.Flood is { } flood)
        {
            flood.Folded++;
            group.LastFold = time;
            _metrics.Folded();
            Join(flood, sensor, score, rule, evidence, time, "folded", quiet: true);
            return flood;
        }

        if (group.Opened.Count >= _options.FloodThreshold)
        {
            flood = New(key, tool, chamber, null, model, score, latencyClass, time, AlertGroups.Flood);
            flood.Folded = 1;
            group.Flood = flood;
            group.LastFold = time;
            _floodCount++;
            _metrics.Folded();
            flood.Sensors.Add(sensor);
            flood.Rules.Add($"{sensor}: {rule}");
            Change(flood, new AlertEvent(time, "fired", sensor, score, Note: $"flood: more than {_options.FloodThreshold} alerts in {_options.FloodWindowMinutes} min"));
            return flood;
        }

        group.Opened.Enqueue(time);
        var alert = New(key, tool, chamber, sensor, model, score, latencyClass, time, AlertGroups.Anomaly);
        group.Alert = alert;
        alert.Sensors.Add(sensor);
        alert.Rules.Add($"{sensor}: {rule}");
        Change(alert, new AlertEvent(time, "fired", sensor, score, Note: evidence?.Invoke() ?? rule));
        return alert;
    }

    private void Join(Open open, string? sensor, float score, string rule, Func<string>? evidence, DateTimeOffset time, string kind, bool quiet)
    {
        if (!open.Sensors.Contains(sensor))
        {
            open.Sensors.Add(sensor);
        }

        open.Rules.Add($"{sensor}: {rule}");
        open.MaxScore = Math.Max(open.MaxScore, score);
        if (Records(open))
        {
            Change(open, new AlertEvent(time, kind, sensor, score, Note: evidence?.Invoke() ?? rule), quiet);
        }
    }

    /// <summary>Whether the alert's timeline takes another join or fold (Alerts:MaxTimelineSteps).</summary>
    private bool Records(Open open) => open.Timeline.Count < _options.MaxTimelineSteps;

    private Open New(
        (string? Tool, string? Chamber, string? Sensor) key, string? toolId, string? chamberId, string? sensorId, string model, float score, LatencyClass latencyClass, DateTimeOffset time, string kind)
    {
        var severity = latencyClass == LatencyClass.Emergency || score >= _options.CriticalScore ? AlertSeverity.Critical : AlertSeverity.Warning;
        var open = new Open(++_lastId, key, toolId, chamberId, sensorId, model, severity, time, score, kind);
        _open[open.Id] = open;
        _openCount++;
        _metrics.Fired(severity);
        return open;
    }

    /// <summary>A sensor of <paramref name="open"/> is normal again: the alert resolves when its last one is (a flood alert once the flood is over too).</summary>
    private void Leave(Open open, string? sensor, DateTimeOffset time)
    {
        open.Sensors.Remove(sensor);
        if (open.Sensors.Count == 0 && open.Kind == AlertGroups.Anomaly)
        {
            GroupOf(open.Key).Alert = null;
            Resolve(open, sensor, time);
        }
    }

    /// <summary>A flood alert resolves once its sensors are normal and nothing folded into it for a flood window.</summary>
    private void EndFlood((string? Tool, string? Chamber, string? Sensor) sensorKey, DateTimeOffset time)
    {
        if (_floodCount == 0 || !TryGroup(GroupKey(sensorKey.Tool, sensorKey.Chamber, sensorKey.Sensor), out var group)
            || group.Flood is not { Sensors.Count: 0 } flood || time - group.LastFold < _floodWindow)
        {
            return;
        }

        group.Flood = null;
        group.Opened.Clear();
        _floodCount--;
        Resolve(flood, null, time);
    }

    private bool TryGroup((string? Tool, string? Chamber, string? Sensor) key, [NotNullWhen(true)] out Group? group)
    {
        if (_lastGroup.TryGet(key, out group))
        {
            return true;
        }

        if (!_groups.TryGetValue(key, out group))
        {
            return false;
        }

        _lastGroup = new(key, group);
        return true;
    }

    private void Resolve(Open open, string? sensor, DateTimeOffset time)
    {
        open.State = AlertState.Resolved;
        open.ResolvedAt = time;
        _open.Remove(open.Id);
        _openCount--;
        if (_groups.TryGetValue(open.Key, out var group) && group.Alert is null && group.Flood is null && group.Opened.Count == 0 && !(group.ShelvedUntil > time))
        {
            _groups.Remove(open.Key);
            _lastGroup = default;
        }

        Remember(Change(open, new AlertEvent(time, "resolved", sensor)));
    }

    private void Remember(AlertView resolved)
    {
        _resolved.AddFirst(resolved);
        while (_resolved.Count > _options.KeepResolved)
        {
            _resolved.RemoveLast();
        }
    }

    private AlertView Change(Open open, AlertEvent step, bool quiet = false)
    {
        open.Timeline.Add(step);
        var view = open.View();
        _changes.Writer.TryWrite(new AlertChange(view, step, quiet));
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

    /// <summary>A sensor the rules follow: its window as bits, and the alert it is part of.</summary>
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

    /// <summary>A key looked up and what it found: the same key's strings (the same instances, as a request's parse makes them) find it again without hashing.</summary>
    private readonly struct Last<T>((string? Tool, string? Chamber, string? Sensor) key, T value)
        where T : class
    {
        private readonly (string? Tool, string? Chamber, string? Sensor) _key = key;
        private readonly T? _value = value;

        public bool TryGet((string? Tool, string? Chamber, string? Sensor) key, [NotNullWhen(true)] out T? value)
        {
            value = _value is not null && ReferenceEquals(_key.Tool, key.Tool) && ReferenceEquals(_key.Chamber, key.Chamber) && ReferenceEquals(_key.Sensor, key.Sensor) ? _value : null;
            return value is not null;
        }
    }

    /// <summary>A group's alarm state: its open alert, its flood alert, when its recent alerts opened, and until when it is shelved.</summary>
    private sealed class Group
    {
        public Open? Alert { get; set; }

        public Open? Flood { get; set; }

        public Queue<DateTimeOffset> Opened { get; } = new();

        public DateTimeOffset LastFold { get; set; }

        public DateTimeOffset? ShelvedUntil { get; set; }
    }

    /// <summary>
    /// An alert's events, appended only: a view takes those so far without copying them, since none is
    /// ever changed and a full array is replaced, not reused (a long flood takes thousands of events).
    /// </summary>
    private sealed class Timeline
    {
        private AlertEvent[] _events = new AlertEvent[4];
        private int _count;

        public int Count => _count;

        public void Add(AlertEvent step)
        {
            if (_count == _events.Length)
            {
                Array.Resize(ref _events, _count * 2);
            }

            _events[_count++] = step;
        }

        public void AddRange(IEnumerable<AlertEvent> steps)
        {
            foreach (var step in steps)
            {
                Add(step);
            }
        }

        public IReadOnlyList<AlertEvent> Snapshot() => new ArraySegment<AlertEvent>(_events, 0, _count);
    }

    /// <summary>An open alert, changed only under the book's lock.</summary>
    private sealed class Open
    {
        public Open(
            long id, (string? Tool, string? Chamber, string? Sensor) key, string? toolId, string? chamberId, string? sensorId, string model,
            AlertSeverity severity, DateTimeOffset startedAt, float score, string kind)
        {
            (Id, Key, ToolId, ChamberId, SensorId, Model, Severity, StartedAt, MaxScore, Kind) = (id, key, toolId, chamberId, sensorId, model, severity, startedAt, score, kind);
        }

        public Open(AlertView restored, (string? Tool, string? Chamber, string? Sensor) key)
            : this(restored.Id, key, restored.ToolId, restored.ChamberId, restored.SensorId, restored.Model, restored.Severity, restored.StartedAt, restored.MaxScore, restored.Kind)
        {
            State = restored.State;
            AcknowledgedAt = restored.AcknowledgedAt;
            Folded = restored.Folded;
            ShelvedUntil = restored.ShelvedUntil;
            Sensors.AddRange(restored.Sensors);
            Rules.UnionWith(restored.Rules);
            Timeline.AddRange(restored.Timeline);
        }

        public long Id { get; }

        public (string? Tool, string? Chamber, string? Sensor) Key { get; }

        public string? ToolId { get; }

        public string? ChamberId { get; }

        public string? SensorId { get; }

        public string Model { get; }

        public AlertSeverity Severity { get; }

        public DateTimeOffset StartedAt { get; }

        public string Kind { get; }

        public AlertState State { get; set; }

        public DateTimeOffset? AcknowledgedAt { get; set; }

        public DateTimeOffset? ResolvedAt { get; set; }

        public float MaxScore { get; set; }

        public int Folded { get; set; }

        public DateTimeOffset? ShelvedUntil { get; set; }

        public List<string?> Sensors { get; } = [];

        public SortedSet<string> Rules { get; } = new(StringComparer.Ordinal);

        public Timeline Timeline { get; } = new();

        public bool IsShelved(DateTimeOffset time) => ShelvedUntil > time;

        public AlertView View() =>
            new(Id, ToolId, SensorId, Model, Severity, State, StartedAt, AcknowledgedAt, ResolvedAt, MaxScore, [.. Sensors], Timeline.Snapshot())
            {
                ChamberId = ChamberId,
                Kind = Kind,
                Rules = [.. Rules],
                Folded = Folded,
                ShelvedUntil = ShelvedUntil,
            };
    }
}
