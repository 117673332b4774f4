using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// What both stores read back, in the column order their queries share; they differ only in how a
/// time is kept (the <c>time</c> reader: SQLite's microseconds, PostgreSQL's <c>timestamptz</c>).
/// </summary>
internal static class StoredRows
{
    /// <summary>The open alerts and the <c>@recent</c> last resolved (SQLite and Npgsql both bind <c>@name</c>).</summary>
    public const string LoadAlerts = """
        SELECT id, tool_id, sensor_id, model, severity, state, started_at, acknowledged_at, resolved_at, max_score, sensors, detail FROM alerts
        WHERE state <> 'Resolved' OR id IN (SELECT id FROM alerts WHERE state = 'Resolved' ORDER BY id DESC LIMIT @recent)
        ORDER BY id
        """;

    /// <summary>The timelines of the alerts <see cref="LoadAlerts"/> reads, in one query.</summary>
    public const string LoadTimelines = """
        SELECT alert_id, time, kind, sensor_id, score, by, note FROM alert_events
        WHERE alert_id IN (SELECT id FROM alerts WHERE state <> 'Resolved' OR id IN (SELECT id FROM alerts WHERE state = 'Resolved' ORDER BY id DESC LIMIT @recent))
        ORDER BY alert_id, seq
        """;

    public const string LastAlertId = "SELECT coalesce(max(id), 0) FROM alerts";

    /// <summary>An optimizer decision's columns, in the order <see cref="Decision"/> reads them and <see cref="DecisionParameters"/> gives them.</summary>
    public const string DecisionColumns =
        "id, tool_id, decided_at, mode, action, reason, temperature_before, pressure_before, flow_before, temperature_after, pressure_after, flow_after, "
        + "predicted_current, predicted_best, predicted_gain, applied_by, applied_at, effective_lot, measured_yield";

    /// <summary>Keeps one decision, or replaces every column of the one saved with its id; each value is the parameter named <c>@</c> and its column.</summary>
    public const string SaveDecision = """
        INSERT INTO optimizer_decisions (id, tool_id, decided_at, mode, action, reason, temperature_before, pressure_before, flow_before,
            temperature_after, pressure_after, flow_after, predicted_current, predicted_best, predicted_gain, applied_by, applied_at, effective_lot, measured_yield)
        VALUES (@id, @tool_id, @decided_at, @mode, @action, @reason, @temperature_before, @pressure_before, @flow_before,
            @temperature_after, @pressure_after, @flow_after, @predicted_current, @predicted_best, @predicted_gain, @applied_by, @applied_at, @effective_lot, @measured_yield)
        ON CONFLICT (id) DO UPDATE SET tool_id = excluded.tool_id, decided_at = excluded.decided_at, mode = excluded.mode, action = excluded.action,
            reason = excluded.reason, temperature_before = excluded.temperature_before, pressure_before = excluded.pressure_before,
            flow_before = excluded.flow_before, temperature_after = excluded.temperature_after, pressure_after = excluded.pressure_after,
            flow_after = excluded.flow_after, predicted_current = excluded.predicted_current, predicted_best = excluded.predicted_best,
            predicted_gain = excluded.predicted_gain, applied_by = excluded.applied_by, applied_at = excluded.applied_at,
            effective_lot = excluded.effective_lot, measured_yield = excluded.measured_yield
        """;

    /// <summary>A prediction's columns, in the order <see cref="Prediction"/> reads them after the id (and both stores write them).</summary>
    public const string PredictionColumns =
        "time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, score, is_anomaly, latency_ms, latency_class, request_id, "
        + "chamber_id, recipe, step, lot_id, wafer_id, sensor_values";

    /// <summary>How many <see cref="PredictionColumns"/> there are.</summary>
    public const int PredictionColumnCount = 21;

    /// <summary>The column of a field a query may filter on or group by (<see cref="SummaryQuery.Groupings"/>: each is its column's name), never the client's text.</summary>
    public static string Column(string field) =>
        SummaryQuery.Groupings.Contains(field) ? field : throw new ArgumentException($"'{field}' is not a prediction column one may filter on or group by.", nameof(field));

    public static StoredPrediction Prediction(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time)
    {
        var toolId = Text(r, 4);
        var chamber = Text(r, 16);
        var recipe = Text(r, 17);
        var step = Text(r, 18);
        var lot = Text(r, 19);
        var wafer = Text(r, 20);
        var hasContext = chamber is not null || recipe is not null || step is not null || lot is not null || wafer is not null || !r.IsDBNull(21);
        return new(r.GetInt64(0), new PredictionRecord(
            time(r, 1),
            time(r, 2),
            r.GetString(3),
            toolId,
            Text(r, 5),
            r.GetString(6),
            r.GetInt32(7),
            Real(r, 8),
            Real(r, 9),
            Real(r, 10),
            r.GetFloat(11),
            r.GetBoolean(12),
            r.GetDouble(13),
            LatencyClasses.TryParse(r.GetString(14), out var latencyClass) ? latencyClass : LatencyClass.ProcessControl,
            r.GetString(15))
        {
            Context = hasContext ? new ReadingContext(toolId ?? "", chamber, recipe, step, lot, wafer) : null,
            Values = Text(r, 21),
        });
    }

    private static float? Real(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFloat(i);

    public static StoredWafer Wafer(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) =>
        new(r.GetInt64(0), new WaferRecord(
            time(r, 1),
            r.GetString(2),
            r.GetString(3),
            r.GetInt32(4),
            r.GetString(5),
            r.GetBoolean(6),
            r.GetFloat(7),
            r.GetString(8),
            r.GetString(9),
            r.GetDouble(10),
            LatencyClasses.TryParse(r.GetString(11), out var latencyClass) ? latencyClass : LatencyClass.DefectDetection,
            r.GetString(12)));

    /// <summary>A summary row: <paramref name="groups"/> group columns, the bucket, then count, anomalies, mean and max score.</summary>
    public static SummaryBucket Bucket(DbDataReader r, int groups, DateTimeOffset start) =>
        new([.. Enumerable.Range(0, groups).Select(i => Text(r, i))], start, r.GetInt64(groups + 1), r.GetInt64(groups + 2), r.GetDouble(groups + 3), r.GetDouble(groups + 4));

    /// <summary>A row of <see cref="DecisionColumns"/>.</summary>
    public static OptimizerDecision Decision(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) =>
        new(r.GetString(0),
            r.GetString(1),
            time(r, 2),
            r.GetString(3),
            r.GetString(4),
            r.GetString(5),
            r.GetDouble(6),
            r.GetDouble(7),
            r.GetDouble(8),
            r.GetDouble(9),
            r.GetDouble(10),
            r.GetDouble(11),
            Number(r, 12),
            Number(r, 13),
            Number(r, 14),
            Text(r, 15),
            r.IsDBNull(16) ? null : time(r, 16),
            r.IsDBNull(17) ? null : r.GetInt64(17),
            Number(r, 18));

    /// <summary>The parameters of <see cref="SaveDecision"/> for <paramref name="d"/>, a null as <see cref="DBNull"/>; <paramref name="time"/> gives a time as the store keeps it.</summary>
    public static (string Name, object Value)[] DecisionParameters(OptimizerDecision d, Func<DateTimeOffset, object> time) =>
    [
        ("@id", d.Id),
        ("@tool_id", d.ToolId),
        ("@decided_at", time(d.DecidedAt)),
        ("@mode", d.Mode),
        ("@action", d.Action),
        ("@reason", d.Reason),
        ("@temperature_before", d.TemperatureBefore),
        ("@pressure_before", d.PressureBefore),
        ("@flow_before", d.FlowBefore),
        ("@temperature_after", d.TemperatureAfter),
        ("@pressure_after", d.PressureAfter),
        ("@flow_after", d.FlowAfter),
        ("@predicted_current", (object?)d.PredictedCurrent ?? DBNull.Value),
        ("@predicted_best", (object?)d.PredictedBest ?? DBNull.Value),
        ("@predicted_gain", (object?)d.PredictedGain ?? DBNull.Value),
        ("@applied_by", (object?)d.AppliedBy ?? DBNull.Value),
        ("@applied_at", d.AppliedAt is { } appliedAt ? time(appliedAt) : DBNull.Value),
        ("@effective_lot", (object?)d.EffectiveLot ?? DBNull.Value),
        ("@measured_yield", (object?)d.MeasuredYield ?? DBNull.Value),
    ];

    /// <summary>A row of <see cref="LoadAlerts"/>, its timeline still empty.</summary>
    public static AlertView Alert(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time)
    {
        var alert = new AlertView(
            r.GetInt64(0),
            Text(r, 1),
            Text(r, 2),
            r.GetString(3),
            Enum.Parse<AlertSeverity>(r.GetString(4)),
            Enum.Parse<AlertState>(r.GetString(5)),
            time(r, 6),
            r.IsDBNull(7) ? null : time(r, 7),
            r.IsDBNull(8) ? null : time(r, 8),
            r.GetFloat(9),
            JsonSerializer.Deserialize(r.GetString(10), ResultsJson.Default.IReadOnlyListString) ?? [],
            []);
        return Text(r, 11) is { } detail && JsonSerializer.Deserialize(detail, ResultsJson.Default.AlertDetail) is { } d
            ? alert with { ChamberId = d.ChamberId, Kind = d.Kind, Rules = d.Rules, Folded = d.Folded, ShelvedUntil = d.ShelvedUntil }
            : alert;
    }

    /// <summary>An alert's <c>detail</c> column: what alarm management added to it, as JSON.</summary>
    public static string Detail(AlertView a) =>
        JsonSerializer.Serialize(new AlertDetail(a.ChamberId, a.Kind, a.Rules, a.Folded, a.ShelvedUntil), ResultsJson.Default.AlertDetail);

    public const string SaveToolState = """
        INSERT INTO tool_states (tool_id, state, since, by, note) VALUES (@tool_id, @state, @since, @by, @note)
        ON CONFLICT (tool_id) DO UPDATE SET state = excluded.state, since = excluded.since, by = excluded.by, note = excluded.note
        """;

    public const string LoadToolStates = "SELECT tool_id, state, since, by, note FROM tool_states";

    public static ToolStateView ToolState(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) =>
        new(r.GetString(0), Enum.Parse<ToolState>(r.GetString(1)), time(r, 2), r.GetString(3), Text(r, 4));

    /// <summary>A row of <see cref="LoadTimelines"/>: the alert it belongs to, and the step.</summary>
    public static (long AlertId, AlertEvent Step) Step(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) =>
        (r.GetInt64(0), new AlertEvent(time(r, 1), r.GetString(2), Text(r, 3), r.IsDBNull(4) ? null : r.GetFloat(4), Text(r, 5), Text(r, 6)));

    /// <summary>Each alert with its steps, in the order read.</summary>
    public static List<AlertView> WithTimelines(List<AlertView> alerts, List<(long AlertId, AlertEvent Step)> steps)
    {
        var timelines = steps.ToLookup(s => s.AlertId, s => s.Step);
        return [.. alerts.Select(a => a with { Timeline = [.. timelines[a.Id]] })];
    }

    /// <summary>An outbox row: <c>seq, alert, event</c>, the two last as JSON text.</summary>
    public static Notification Notification(DbDataReader r, string sink) =>
        new(r.GetInt64(0), sink, JsonSerializer.Deserialize(r.GetString(1), ResultsJson.Default.AlertView)!, JsonSerializer.Deserialize(r.GetString(2), ResultsJson.Default.AlertEvent)!);

    private static string? Text(DbDataReader r, int column) => r.IsDBNull(column) ? null : r.GetString(column);

    private static double? Number(DbDataReader r, int column) => r.IsDBNull(column) ? null : r.GetDouble(column);
}

/// <summary>An alert's fields beyond the columns the first schema gave it.</summary>
internal sealed record AlertDetail(string? ChamberId, string Kind, IReadOnlyList<string> Rules, int Folded, DateTimeOffset? ShelvedUntil);

/// <summary>Both stores' own JSON: an alert's sensors; an alert and its step as the outbox keeps them.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(AlertView))]
[JsonSerializable(typeof(AlertEvent))]
[JsonSerializable(typeof(AlertDetail))]
internal sealed partial class ResultsJson : JsonSerializerContext;
