using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (readers never block the writer), times as
/// microseconds since the Unix epoch, one writer connection with a prepared insert, and a pooled
/// connection per query. A broker message's rows carry their key (message id, index), unique over
/// the rows that have one, so a redelivered message's rows are skipped as they are inserted.
/// </summary>
internal sealed class SqliteResultsStore : IResultsStore
{
    /// <summary>Each schema version's statements, applied in order once; the file records the last one applied.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE predictions (
            id INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            predicted_at INTEGER NOT NULL,
            source TEXT NOT NULL,
            tool_id TEXT,
            sensor_id TEXT,
            model TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            temperature REAL NOT NULL,
            pressure REAL NOT NULL,
            flow_rate REAL NOT NULL,
            score REAL NOT NULL,
            is_anomaly INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            latency_class TEXT NOT NULL,
            request_id TEXT NOT NULL);
        CREATE INDEX predictions_by_time ON predictions (time);
        CREATE INDEX predictions_by_tool ON predictions (tool_id, sensor_id, time);
        """,
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            tool_id TEXT,
            sensor_id TEXT,
            model TEXT NOT NULL,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            acknowledged_at INTEGER,
            resolved_at INTEGER,
            max_score REAL NOT NULL,
            sensors TEXT NOT NULL);
        CREATE INDEX alerts_by_state ON alerts (state, id);
        CREATE TABLE alert_events (
            seq INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL,
            time INTEGER NOT NULL,
            kind TEXT NOT NULL,
            sensor_id TEXT,
            score REAL,
            by TEXT,
            note TEXT);
        CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq);
        """,
        """
        CREATE TABLE alert_outbox (
            seq INTEGER PRIMARY KEY,
            sink TEXT NOT NULL,
            alert TEXT NOT NULL,
            event TEXT NOT NULL,
            delivered_at INTEGER);
        CREATE INDEX alert_outbox_pending ON alert_outbox (sink, seq) WHERE delivered_at IS NULL;
        """,
        """
        CREATE TABLE wafer_predictions (
            id INTEGER PRIMARY KEY,
            predicted_at INTEGER NOT NULL,
            source TEXT NOT NULL,
            model TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            defect_type TEXT NOT NULL,
            defect_detected INTEGER NOT NULL,
            confidence REAL NOT NULL,
            class_probabilities TEXT NOT NULL,
            image_sha256 TEXT NOT NULL,
            latency_ms REAL NOT NULL,
            latency_class TEXT NOT NULL,
            request_id TEXT NOT NULL);
        CREATE INDEX wafer_predictions_by_time ON wafer_predictions (predicted_at);
        """,
        """
        CREATE TABLE optimizer_decisions (
            id TEXT PRIMARY KEY NOT NULL,
            tool_id TEXT NOT NULL,
            decided_at INTEGER NOT NULL,
            mode TEXT NOT NULL,
            action TEXT NOT NULL,
            reason TEXT NOT NULL,
            temperature_before REAL NOT NULL,
            pressure_before REAL NOT NULL,
            flow_before REAL NOT NULL,
            temperature_after REAL NOT NULL,
            pressure_after REAL NOT NULL,
            flow_after REAL NOT NULL,
            predicted_current REAL,
            predicted_best REAL,
            predicted_gain REAL,
            applied_by TEXT,
            applied_at INTEGER,
            effective_lot INTEGER,
            measured_yield REAL);
        CREATE INDEX optimizer_decisions_by_tool ON optimizer_decisions (tool_id, decided_at);
        """,
        """
        ALTER TABLE predictions ADD COLUMN message_id TEXT;
        ALTER TABLE predictions ADD COLUMN message_seq INTEGER;
        CREATE UNIQUE INDEX predictions_by_message ON predictions (message_id, message_seq) WHERE message_id IS NOT NULL;
        """,
        // Readings with context: the seed's three values become optional (SQLite drops NOT NULL only by copying the table).
        """
        CREATE TABLE predictions_v7 (
            id INTEGER PRIMARY KEY,
            time INTEGER NOT NULL,
            predicted_at INTEGER NOT NULL,
            source TEXT NOT NULL,
            tool_id TEXT,
            sensor_id TEXT,
            model TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            temperature REAL,
            pressure REAL,
            flow_rate REAL,
            score REAL NOT NULL,
            is_anomaly INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            latency_class TEXT NOT NULL,
            request_id TEXT NOT NULL,
            message_id TEXT,
            message_seq INTEGER,
            chamber_id TEXT,
            recipe TEXT,
            step TEXT,
            lot_id TEXT,
            wafer_id TEXT,
            sensor_values TEXT);
        INSERT INTO predictions_v7 (id, time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, score,
            is_anomaly, latency_ms, latency_class, request_id, message_id, message_seq)
        SELECT id, time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, score,
            is_anomaly, latency_ms, latency_class, request_id, message_id, message_seq FROM predictions;
        DROP TABLE predictions;
        ALTER TABLE predictions_v7 RENAME TO predictions;
        CREATE INDEX predictions_by_time ON predictions (time);
        CREATE INDEX predictions_by_tool ON predictions (tool_id, sensor_id, time);
        CREATE INDEX predictions_by_chamber ON predictions (tool_id, chamber_id, time) WHERE chamber_id IS NOT NULL;
        CREATE UNIQUE INDEX predictions_by_message ON predictions (message_id, message_seq) WHERE message_id IS NOT NULL;
        """,
        // Alarm management: an alert's chamber, kind, rules, folds and shelving; each tool's state.
        """
        ALTER TABLE alerts ADD COLUMN detail TEXT;
        CREATE TABLE tool_states (
            tool_id TEXT PRIMARY KEY NOT NULL,
            state TEXT NOT NULL,
            since INTEGER NOT NULL,
            by TEXT NOT NULL,
            note TEXT);
        """,
    ];

    private const string Columns = StoredRows.PredictionColumns;

    private readonly string _path;
    private readonly string _connectionString;
    private const string WaferColumns =
        "predicted_at, source, model, model_version, defect_type, defect_detected, confidence, class_probabilities, image_sha256, latency_ms, latency_class, request_id";

    private SqliteConnection? _writer;
    private sqlite3_stmt? _insert;
    private sqlite3_stmt? _insertMessage;
    private sqlite3_stmt? _insertWafer;

    public SqliteResultsStore(string path)
    {
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    public void Initialize()
    {
        try
        {
            if (Path.GetDirectoryName(_path) is { Length: > 0 } folder)
            {
                Directory.CreateDirectory(folder);
            }

            _writer = new SqliteConnection(_connectionString);
            _writer.Open();
            Execute(_writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 8192;");
            Migrate(_writer);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Results:Path '{_path}' cannot be opened as the results store: {ex.Message}", ex);
        }

        // One row a statement, bound by position through SQLite's own API on the writer's connection:
        // Microsoft.Data.Sqlite's parameters box every value and bind by name on each execution.
        _insert = Prepare(_writer, "predictions", Columns);
        // A broker message's row, kept once per (message id, index): the unique index skips it when it is there already.
        _insertMessage = Prepare(_writer, "predictions", Columns + ", message_id, message_seq", " ON CONFLICT DO NOTHING");
        _insertWafer = Prepare(_writer, "wafer_predictions", WaferColumns);
    }

    /// <summary>A local file is never away for a while: a failed write is tried Results:WriteAttempts times.</summary>
    public bool IsTransient(Exception error) => false;

    private static sqlite3_stmt Prepare(SqliteConnection connection, string table, string columns, string onConflict = "")
    {
        var count = columns.Split(", ").Length;
        var sql = $"INSERT INTO {table} ({columns}) VALUES ({string.Join(", ", Enumerable.Repeat("?", count))}){onConflict}";
        Check(connection.Handle!, raw.sqlite3_prepare_v2(connection.Handle, sql, out var statement));
        return statement;
    }

    public Task<int> WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        var insert = _insert ?? throw new InvalidOperationException("The store is not initialized.");
        var db = _writer!.Handle!;
        var duplicates = 0;
        using var transaction = _writer.BeginTransaction();
        foreach (var chunk in chunks)
        {
            if (chunk.MessageId is { } messageId)
            {
                duplicates += InsertMessage(db, _insertMessage!, chunk.Rows, messageId);
            }
            else
            {
                foreach (ref readonly var row in chunk.Rows)
                {
                    Bind(insert, row);
                    Step(db, insert);
                }
            }

            foreach (ref readonly var wafer in chunk.WaferRows)
            {
                Bind(_insertWafer!, wafer);
                Step(db, _insertWafer!);
            }
        }

        transaction.Commit();
        return Task.FromResult(duplicates);
    }

    /// <summary>Inserts a broker message's rows, each under (<paramref name="messageId"/>, its index); returns how many were there already.</summary>
    private static int InsertMessage(sqlite3 db, sqlite3_stmt insert, ReadOnlySpan<PredictionRecord> rows, string messageId)
    {
        var duplicates = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            Bind(insert, rows[i]);
            raw.sqlite3_bind_text(insert, StoredRows.PredictionColumnCount + 1, messageId);
            raw.sqlite3_bind_int(insert, StoredRows.PredictionColumnCount + 2, i);
            Step(db, insert);
            // Nothing inserted: the conflict clause skipped the row (any other failure throws).
            if (raw.sqlite3_changes(db) == 0)
            {
                duplicates++;
            }
        }

        return duplicates;
    }

    private static void Step(sqlite3 db, sqlite3_stmt statement)
    {
        var result = raw.sqlite3_step(statement);
        try
        {
            // The message is read before the reset.
            Check(db, result);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private static void Check(sqlite3 db, int result)
    {
        if (result is not (raw.SQLITE_OK or raw.SQLITE_DONE))
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), result);
        }
    }

    private static void Bind(sqlite3_stmt s, in PredictionRecord row)
    {
        raw.sqlite3_bind_int64(s, 1, UnixMicroseconds.From(row.Time));
        raw.sqlite3_bind_int64(s, 2, UnixMicroseconds.From(row.PredictedAt));
        raw.sqlite3_bind_text(s, 3, row.Source);
        BindTextOrNull(s, 4, row.ToolId);
        BindTextOrNull(s, 5, row.SensorId);
        raw.sqlite3_bind_text(s, 6, row.Model);
        raw.sqlite3_bind_int(s, 7, row.ModelVersion);
        BindRealOrNull(s, 8, row.Temperature);
        BindRealOrNull(s, 9, row.Pressure);
        BindRealOrNull(s, 10, row.FlowRate);
        raw.sqlite3_bind_double(s, 11, row.Score);
        raw.sqlite3_bind_int(s, 12, row.IsAnomaly ? 1 : 0);
        raw.sqlite3_bind_double(s, 13, row.LatencyMs);
        raw.sqlite3_bind_text(s, 14, row.Class.Name());
        raw.sqlite3_bind_text(s, 15, row.RequestId);
        var context = row.Context;
        BindTextOrNull(s, 16, context?.ChamberId);
        BindTextOrNull(s, 17, context?.Recipe);
        BindTextOrNull(s, 18, context?.Step);
        BindTextOrNull(s, 19, context?.LotId);
        BindTextOrNull(s, 20, context?.WaferId);
        BindTextOrNull(s, 21, row.Values);
    }

    private static void BindRealOrNull(sqlite3_stmt s, int index, float? value)
    {
        if (value is { } number)
        {
            raw.sqlite3_bind_double(s, index, number);
        }
        else
        {
            raw.sqlite3_bind_null(s, index);
        }
    }

    private static void Bind(sqlite3_stmt s, in WaferRecord row)
    {
        raw.sqlite3_bind_int64(s, 1, UnixMicroseconds.From(row.PredictedAt));
        raw.sqlite3_bind_text(s, 2, row.Source);
        raw.sqlite3_bind_text(s, 3, row.Model);
        raw.sqlite3_bind_int(s, 4, row.ModelVersion);
        raw.sqlite3_bind_text(s, 5, row.DefectType);
        raw.sqlite3_bind_int(s, 6, row.DefectDetected ? 1 : 0);
        raw.sqlite3_bind_double(s, 7, row.Confidence);
        raw.sqlite3_bind_text(s, 8, row.ClassProbabilities);
        raw.sqlite3_bind_text(s, 9, row.ImageSha256);
        raw.sqlite3_bind_double(s, 10, row.LatencyMs);
        raw.sqlite3_bind_text(s, 11, row.Class.Name());
        raw.sqlite3_bind_text(s, 12, row.RequestId);
    }

    private static void BindTextOrNull(sqlite3_stmt s, int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(s, index);
        }
        else
        {
            raw.sqlite3_bind_text(s, index, value);
        }
    }

    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int maxRows, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        // Rows are stored in the order they were made, so the oldest are the first ids: the scan stops early.
        command.CommandText = """
            DELETE FROM predictions WHERE id IN (SELECT id FROM predictions WHERE predicted_at < $cutoff ORDER BY id LIMIT $max);
            DELETE FROM wafer_predictions WHERE id IN (SELECT id FROM wafer_predictions WHERE predicted_at < $cutoff ORDER BY id LIMIT $max);
            DELETE FROM optimizer_decisions WHERE id IN (SELECT id FROM optimizer_decisions WHERE decided_at < $cutoff ORDER BY decided_at LIMIT $max);
            """;
        command.Parameters.AddWithValue("$cutoff", UnixMicroseconds.From(cutoff));
        command.Parameters.AddWithValue("$max", maxRows);
        return Task.FromResult(command.ExecuteNonQuery());
    }

    public Task<int> DeleteOldAlertsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM alert_outbox WHERE delivered_at < $cutoff;
            DELETE FROM alert_events WHERE alert_id IN (SELECT id FROM alerts WHERE state = 'Resolved' AND resolved_at < $cutoff AND id < (SELECT max(id) FROM alerts));
            DELETE FROM alerts WHERE state = 'Resolved' AND resolved_at < $cutoff AND id < (SELECT max(id) FROM alerts);
            """;
        command.Parameters.AddWithValue("$cutoff", UnixMicroseconds.From(cutoff));
        return Task.FromResult(command.ExecuteNonQuery());
    }

    public Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("1 = 1");
        Filter(command, where, "tool_id = $tool", "$tool", query.ToolId);
        Filter(command, where, "sensor_id = $sensor", "$sensor", query.SensorId);
        Filter(command, where, "model = $model", "$model", query.Model);
        FilterContext(command, where, query.Context);
        Filter(command, where, "time >= $from", "$from", query.From is { } from ? UnixMicroseconds.From(from) : null);
        Filter(command, where, "time < $to", "$to", query.To is { } to ? UnixMicroseconds.From(to) : null);
        if (query.AnomaliesOnly)
        {
            where.Append(" AND is_anomaly = 1");
        }

        Before(command, where, "time", query.After);

        command.CommandText = $"SELECT id, {Columns} FROM predictions WHERE {where} ORDER BY time DESC, id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit);
        var items = new List<StoredPrediction>(Math.Min(query.Limit, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            items.Add(StoredRows.Prediction(reader, Time));
        }

        return Task.FromResult<IReadOnlyList<StoredPrediction>>(items);
    }

    public Task<IReadOnlyList<StoredWafer>> QueryWafersAsync(WaferQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("1 = 1");
        Filter(command, where, "predicted_at >= $from", "$from", query.From is { } from ? UnixMicroseconds.From(from) : null);
        Filter(command, where, "predicted_at < $to", "$to", query.To is { } to ? UnixMicroseconds.From(to) : null);
        if (query.DefectsOnly)
        {
            where.Append(" AND defect_detected = 1");
        }

        Before(command, where, "predicted_at", query.After);

        command.CommandText = $"SELECT id, {WaferColumns} FROM wafer_predictions WHERE {where} ORDER BY predicted_at DESC, id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit);
        var items = new List<StoredWafer>(Math.Min(query.Limit, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            items.Add(StoredRows.Wafer(reader, Time));
        }

        return Task.FromResult<IReadOnlyList<StoredWafer>>(items);
    }

    public Task<IReadOnlyList<SummaryBucket>> SummarizeAsync(SummaryQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("time >= $from AND time < $to");
        command.Parameters.AddWithValue("$from", UnixMicroseconds.From(query.From));
        command.Parameters.AddWithValue("$to", UnixMicroseconds.From(query.To));
        Filter(command, where, "tool_id = $tool", "$tool", query.ToolId);
        FilterContext(command, where, query.Context);
        // Buckets line up with the epoch (a 1 m bucket starts on the minute), not with From.
        var groups = string.Join(", ", query.GroupBy.Select(StoredRows.Column));
        command.CommandText = $"""
            SELECT {groups}, time / $bucket AS b, count(*), sum(is_anomaly), avg(score), max(score)
            FROM predictions WHERE {where}
            GROUP BY {groups}, b ORDER BY {groups}, b LIMIT $limit
            """;
        var bucket = (long)(query.Bucket.Ticks / 10);
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$limit", query.Limit);
        var buckets = new List<SummaryBucket>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            buckets.Add(StoredRows.Bucket(reader, query.GroupBy.Count, UnixMicroseconds.ToTime(reader.GetInt64(query.GroupBy.Count) * bucket)));
        }

        return Task.FromResult<IReadOnlyList<SummaryBucket>>(buckets);
    }

    public Task SaveDecisionsAsync(IReadOnlyList<OptimizerDecision> decisions, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        foreach (var decision in decisions)
        {
            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = StoredRows.SaveDecision;
            foreach (var (name, value) in StoredRows.DecisionParameters(decision, time => UnixMicroseconds.From(time)))
            {
                upsert.Parameters.AddWithValue(name, value);
            }

            upsert.ExecuteNonQuery();
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<OptimizerDecision>> QueryDecisionsAsync(DecisionQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("1 = 1");
        Filter(command, where, "tool_id = $tool", "$tool", query.ToolId);
        command.CommandText = $"SELECT {StoredRows.DecisionColumns} FROM optimizer_decisions WHERE {where} ORDER BY decided_at DESC, id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit);
        var items = new List<OptimizerDecision>(Math.Min(query.Limit, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            items.Add(StoredRows.Decision(reader, Time));
        }

        return Task.FromResult<IReadOnlyList<OptimizerDecision>>(items);
    }

    public Task SaveAlertAsync(AlertChange change, IReadOnlyList<string> notify, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        var a = change.Alert;
        using (var upsert = connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO alerts (id, tool_id, sensor_id, model, severity, state, started_at, acknowledged_at, resolved_at, max_score, sensors, detail)
                VALUES ($id, $tool, $sensor, $model, $severity, $state, $started, $acknowledged, $resolved, $max, $sensors, $detail)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, acknowledged_at = excluded.acknowledged_at,
                    resolved_at = excluded.resolved_at, max_score = excluded.max_score, sensors = excluded.sensors, detail = excluded.detail
                """;
            upsert.Parameters.AddWithValue("$id", a.Id);
            upsert.Parameters.AddWithValue("$tool", (object?)a.ToolId ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$sensor", (object?)a.SensorId ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$model", a.Model);
            upsert.Parameters.AddWithValue("$severity", a.Severity.ToString());
            upsert.Parameters.AddWithValue("$state", a.State.ToString());
            upsert.Parameters.AddWithValue("$started", UnixMicroseconds.From(a.StartedAt));
            upsert.Parameters.AddWithValue("$acknowledged", a.AcknowledgedAt is { } ack ? UnixMicroseconds.From(ack) : DBNull.Value);
            upsert.Parameters.AddWithValue("$resolved", a.ResolvedAt is { } resolved ? UnixMicroseconds.From(resolved) : DBNull.Value);
            upsert.Parameters.AddWithValue("$max", a.MaxScore);
            upsert.Parameters.AddWithValue("$sensors", JsonSerializer.Serialize(a.Sensors, ResultsJson.Default.IReadOnlyListString));
            upsert.Parameters.AddWithValue("$detail", StoredRows.Detail(a));
            upsert.ExecuteNonQuery();
        }

        using (var step = connection.CreateCommand())
        {
            var e = change.Event;
            step.Transaction = transaction;
            step.CommandText = "INSERT INTO alert_events (alert_id, time, kind, sensor_id, score, by, note) VALUES ($id, $time, $kind, $sensor, $score, $by, $note)";
            step.Parameters.AddWithValue("$id", a.Id);
            step.Parameters.AddWithValue("$time", UnixMicroseconds.From(e.Time));
            step.Parameters.AddWithValue("$kind", e.Kind);
            step.Parameters.AddWithValue("$sensor", (object?)e.SensorId ?? DBNull.Value);
            step.Parameters.AddWithValue("$score", e.Score is { } score ? score : DBNull.Value);
            step.Parameters.AddWithValue("$by", (object?)e.By ?? DBNull.Value);
            step.Parameters.AddWithValue("$note", (object?)e.Note ?? DBNull.Value);
            step.ExecuteNonQuery();
        }

        if (notify.Count > 0)
        {
            // The alert as it stood at this change travels with the notification, whatever happens to it later.
            using var outbox = connection.CreateCommand();
            outbox.Transaction = transaction;
            outbox.CommandText = "INSERT INTO alert_outbox (sink, alert, event) VALUES ($sink, $alert, $event)";
            var sink = outbox.Parameters.Add(new SqliteParameter("$sink", null));
            outbox.Parameters.AddWithValue("$alert", JsonSerializer.Serialize(change.Alert, ResultsJson.Default.AlertView));
            outbox.Parameters.AddWithValue("$event", JsonSerializer.Serialize(change.Event, ResultsJson.Default.AlertEvent));
            foreach (var name in notify)
            {
                sink.Value = name;
                outbox.ExecuteNonQuery();
            }
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    public Task<(IReadOnlyList<AlertView> Alerts, long LastId)> LoadAlertsAsync(int recentResolved, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = StoredRows.LoadAlerts + ";" + StoredRows.LoadTimelines + ";" + StoredRows.LastAlertId;
        command.Parameters.AddWithValue("@recent", recentResolved);
        var alerts = new List<AlertView>();
        var steps = new List<(long, AlertEvent)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            alerts.Add(StoredRows.Alert(reader, Time));
        }

        reader.NextResult();
        while (reader.Read())
        {
            steps.Add(StoredRows.Step(reader, Time));
        }

        reader.NextResult();
        reader.Read();
        return Task.FromResult<(IReadOnlyList<AlertView>, long)>((StoredRows.WithTimelines(alerts, steps), reader.GetInt64(0)));
    }

    public Task SaveToolStateAsync(ToolStateView state, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = StoredRows.SaveToolState;
        command.Parameters.AddWithValue("@tool_id", state.ToolId);
        command.Parameters.AddWithValue("@state", state.State.ToString());
        command.Parameters.AddWithValue("@since", UnixMicroseconds.From(state.Since));
        command.Parameters.AddWithValue("@by", state.By);
        command.Parameters.AddWithValue("@note", (object?)state.Note ?? DBNull.Value);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ToolStateView>> LoadToolStatesAsync(CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = StoredRows.LoadToolStates;
        var states = new List<ToolStateView>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            states.Add(StoredRows.ToolState(reader, Time));
        }

        return Task.FromResult<IReadOnlyList<ToolStateView>>(states);
    }

    public Task<IReadOnlyList<Notification>> PendingAsync(string sink, int max, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, alert, event FROM alert_outbox WHERE sink = $sink AND delivered_at IS NULL ORDER BY seq LIMIT $max";
        command.Parameters.AddWithValue("$sink", sink);
        command.Parameters.AddWithValue("$max", max);
        var pending = new List<Notification>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            pending.Add(StoredRows.Notification(reader, sink));
        }

        return Task.FromResult<IReadOnlyList<Notification>>(pending);
    }

    public Task DeliveredAsync(Notification notification, DateTimeOffset at, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE alert_outbox SET delivered_at = $at WHERE seq = $seq";
        command.Parameters.AddWithValue("$at", UnixMicroseconds.From(at));
        command.Parameters.AddWithValue("$seq", notification.Seq);
        command.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    private static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int column) => UnixMicroseconds.ToTime(reader.GetInt64(column));

    public void Dispose()
    {
        _insert?.Dispose();
        _insertMessage?.Dispose();
        _insertWafer?.Dispose();
        _writer?.Dispose();
    }

    /// <summary>Keyset paging: only the rows after the cursor, newest first, in (<paramref name="column"/>, id) order.</summary>
    private static void Before(SqliteCommand command, StringBuilder where, string column, PageCursor? after)
    {
        if (after is { } cursor)
        {
            where.Append($" AND ({column}, id) < ($afterTime, $afterId)");
            command.Parameters.AddWithValue("$afterTime", cursor.TimeMicroseconds);
            command.Parameters.AddWithValue("$afterId", cursor.Id);
        }
    }

    private static void Filter(SqliteCommand command, StringBuilder where, string clause, string name, object? value)
    {
        if (value is not null)
        {
            where.Append(" AND ").Append(clause);
            command.Parameters.AddWithValue(name, value);
        }
    }

    /// <summary>Each context field asked for, as <c>AND chamber_id = $c0</c>: the field names are the columns' (checked, never the client's text).</summary>
    private static void FilterContext(SqliteCommand command, StringBuilder where, IReadOnlyList<KeyValuePair<string, string>> context)
    {
        for (var i = 0; i < context.Count; i++)
        {
            Filter(command, where, $"{StoredRows.Column(context[i].Key)} = $c{i}", $"$c{i}", context[i].Value);
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Migrate(SqliteConnection connection)
    {
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
        var current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > Migrations.Length)
        {
            throw new InvalidOperationException($"The results store is at schema version {current}, newer than this server's {Migrations.Length}.");
        }

        for (var version = current + 1; version <= Migrations.Length; version++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[version - 1] + $"; INSERT INTO schema_version (version) VALUES ({version});";
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
