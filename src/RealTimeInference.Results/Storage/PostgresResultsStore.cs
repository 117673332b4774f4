using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// The server store: PostgreSQL through Npgsql. Predictions and wafer verdicts go in by binary COPY
/// (one transaction per write) into tables partitioned by the UTC day they were made; a day's
/// partition is created before the first row that needs it, and retention drops whole partitions
/// once their day has passed the cutoff. Times are <c>timestamptz</c> (microseconds, as in SQLite).
/// A unique index on a partitioned table must hold the partition key, so could not keep a broker
/// message's readings once across days: their keys are kept in <c>ingested_messages</c>, claimed in
/// the write's transaction, and only the rows whose keys were new are copied.
/// Schema versions are applied at start under an advisory lock, so replicas that start together
/// apply each one once.
/// </summary>
internal sealed class PostgresResultsStore : IResultsStore
{
    /// <summary>Each schema version's statements, applied in order once; the database records the last one applied.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE predictions (
            id bigserial NOT NULL,
            time timestamptz NOT NULL,
            predicted_at timestamptz NOT NULL,
            source text NOT NULL,
            tool_id text COLLATE "C",
            sensor_id text COLLATE "C",
            model text NOT NULL,
            model_version integer NOT NULL,
            temperature real NOT NULL,
            pressure real NOT NULL,
            flow_rate real NOT NULL,
            score real NOT NULL,
            is_anomaly boolean NOT NULL,
            latency_ms double precision NOT NULL,
            latency_class text NOT NULL,
            request_id text NOT NULL
        ) PARTITION BY RANGE (predicted_at);
        ALTER SEQUENCE predictions_id_seq CACHE 1000;
        CREATE INDEX predictions_by_time ON predictions (time, id);
        CREATE INDEX predictions_by_tool ON predictions (tool_id, sensor_id, time, id);
        CREATE TABLE alerts (
            id bigint PRIMARY KEY,
            tool_id text,
            sensor_id text,
            model text NOT NULL,
            severity text NOT NULL,
            state text NOT NULL,
            started_at timestamptz NOT NULL,
            acknowledged_at timestamptz,
            resolved_at timestamptz,
            max_score real NOT NULL,
            sensors jsonb NOT NULL);
        CREATE INDEX alerts_by_state ON alerts (state, id);
        CREATE TABLE alert_events (
            seq bigserial PRIMARY KEY,
            alert_id bigint NOT NULL,
            time timestamptz NOT NULL,
            kind text NOT NULL,
            sensor_id text,
            score real,
            by text,
            note text);
        CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq);
        CREATE TABLE alert_outbox (
            seq bigserial PRIMARY KEY,
            sink text NOT NULL,
            alert jsonb NOT NULL,
            event jsonb NOT NULL,
            delivered_at timestamptz);
        CREATE INDEX alert_outbox_pending ON alert_outbox (sink, seq) WHERE delivered_at IS NULL;
        CREATE TABLE wafer_predictions (
            id bigserial NOT NULL,
            predicted_at timestamptz NOT NULL,
            source text NOT NULL,
            model text NOT NULL,
            model_version integer NOT NULL,
            defect_type text NOT NULL,
            defect_detected boolean NOT NULL,
            confidence real NOT NULL,
            class_probabilities json NOT NULL,
            image_sha256 text NOT NULL,
            latency_ms double precision NOT NULL,
            latency_class text NOT NULL,
            request_id text NOT NULL
        ) PARTITION BY RANGE (predicted_at);
        CREATE INDEX wafer_predictions_by_time ON wafer_predictions (predicted_at, id);
        """,
        """
        CREATE TABLE optimizer_decisions (
            id text COLLATE "C" PRIMARY KEY,
            tool_id text COLLATE "C" NOT NULL,
            decided_at timestamptz NOT NULL,
            mode text NOT NULL,
            action text NOT NULL,
            reason text NOT NULL,
            temperature_before double precision NOT NULL,
            pressure_before double precision NOT NULL,
            flow_before double precision NOT NULL,
            temperature_after double precision NOT NULL,
            pressure_after double precision NOT NULL,
            flow_after double precision NOT NULL,
            predicted_current double precision,
            predicted_best double precision,
            predicted_gain double precision,
            applied_by text,
            applied_at timestamptz,
            effective_lot bigint,
            measured_yield double precision);
        CREATE INDEX optimizer_decisions_by_tool ON optimizer_decisions (tool_id, decided_at);
        """,
        """
        ALTER TABLE predictions ADD COLUMN message_id text, ADD COLUMN message_seq integer;
        CREATE TABLE ingested_messages (
            message_id text COLLATE "C" NOT NULL,
            message_seq integer NOT NULL,
            stored_at timestamptz NOT NULL,
            PRIMARY KEY (message_id, message_seq));
        CREATE INDEX ingested_messages_by_time ON ingested_messages (stored_at);
        """,
        // Readings with context: the seed's three values become optional.
        """
        ALTER TABLE predictions ALTER COLUMN temperature DROP NOT NULL, ALTER COLUMN pressure DROP NOT NULL, ALTER COLUMN flow_rate DROP NOT NULL,
            ADD COLUMN chamber_id text, ADD COLUMN recipe text, ADD COLUMN step text, ADD COLUMN lot_id text, ADD COLUMN wafer_id text,
            ADD COLUMN sensor_values jsonb;
        CREATE INDEX predictions_by_chamber ON predictions (tool_id, chamber_id, time, id) WHERE chamber_id IS NOT NULL;
        """,
        // Alarm management: an alert's chamber, kind, rules, folds and shelving; each tool's state.
        """
        ALTER TABLE alerts ADD COLUMN detail jsonb;
        CREATE TABLE tool_states (
            tool_id text PRIMARY KEY,
            state text NOT NULL,
            since timestamptz NOT NULL,
            by text NOT NULL,
            note text);
        """,
    ];

    /// <summary>The partitioned tables; each day's partition is the table's name and <c>_pYYYYMMDD</c>.</summary>
    private static readonly string[] Partitioned = ["predictions", "wafer_predictions"];

    private const string Columns = StoredRows.PredictionColumns;

    /// <summary>A prediction's columns as written: <see cref="Columns"/> and, for a broker message's row, its key.</summary>
    private const string WrittenColumns = Columns + ", message_id, message_seq";

    /// <summary>
    /// Claims the keys of one broker message's rows, <c>$1</c> the message id, indexes 0 to <c>$2</c> - 1,
    /// kept as of <c>$3</c>; returns the indexes it claimed (those not claimed before, committed or not:
    /// a claim another transaction holds is waited for).
    /// </summary>
    private const string ClaimMessage = """
        INSERT INTO ingested_messages (message_id, message_seq, stored_at)
        SELECT $1, s, $3 FROM generate_series(0, $2 - 1) AS s
        ON CONFLICT DO NOTHING RETURNING message_seq
        """;

    private const string WaferColumns =
        "predicted_at, source, model, model_version, defect_type, defect_detected, confidence, class_probabilities, image_sha256, latency_ms, latency_class, request_id";

    /// <summary>Any number that is this store's own: it serializes the schema's migration between replicas.</summary>
    private const long MigrationLock = 0x5254_4952_6573;

    private readonly string _connectionString;
    private readonly ConcurrentDictionary<DateOnly, bool> _partitions = new();
    private NpgsqlDataSource? _source;

    public PostgresResultsStore(string connectionString) => _connectionString = connectionString;

    private NpgsqlDataSource Source => _source ?? throw new InvalidOperationException("The store is not initialized.");

    public void Initialize()
    {
        try
        {
            _source = NpgsqlDataSource.Create(_connectionString);
            using var connection = _source.OpenConnection();
            Migrate(connection);
        }
        catch (Exception ex) when (ex is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            // The message never repeats the connection string: it may hold a password.
            throw new InvalidOperationException($"Results:ConnectionString does not lead to a usable PostgreSQL database: {ex.Message}", ex);
        }
    }

    public bool IsTransient(Exception error) => error is NpgsqlException { IsTransient: true };

    /// <summary>Rows go by binary COPY, written synchronously: the writer has a thread of its own, and a row's fields are buffered, not sent one by one.</summary>
    public async Task<int> WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        await using var connection = await Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await EnsurePartitionsAsync(connection, chunks, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (claimed, duplicates) = await ClaimMessagesAsync(connection, transaction, chunks, cancellationToken).ConfigureAwait(false);
        if (chunks.Any(c => !c.Rows.IsEmpty))
        {
            await using var copy = await connection.BeginBinaryImportAsync($"COPY predictions ({WrittenColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
            for (var c = 0; c < chunks.Count; c++)
            {
                var chunk = chunks[c];
                var rows = chunk.Rows;
                var keep = claimed?[c];
                for (var i = 0; i < rows.Length; i++)
                {
                    if (keep is null || keep[i])
                    {
                        WriteRow(copy, rows[i], chunk.MessageId, i);
                    }
                }
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        if (chunks.Any(c => !c.WaferRows.IsEmpty))
        {
            await using var copy = await connection.BeginBinaryImportAsync($"COPY wafer_predictions ({WaferColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
            foreach (var chunk in chunks)
            {
                foreach (ref readonly var row in chunk.WaferRows)
                {
                    WriteRow(copy, row);
                }
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return duplicates;
    }

    /// <summary>
    /// Claims the keys of every broker message's rows, in one round trip. Returns, by chunk, which of
    /// its rows to copy (null: all of them, as for a chunk without a message id or whose keys were all
    /// new; null in all for a write without messages), and how many rows are stored already.
    /// </summary>
    private static async Task<(bool[]?[]? Claimed, int Duplicates)> ClaimMessagesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var chunk in chunks)
        {
            if (chunk.MessageId is { } messageId && chunk.Count > 0)
            {
                batch.BatchCommands.Add(Command(ClaimMessage, messageId, chunk.Count, chunk.Rows[0].PredictedAt.UtcDateTime));
            }
        }

        if (batch.BatchCommands.Count == 0)
        {
            return (null, 0);
        }

        var claimed = new bool[]?[chunks.Count];
        var duplicates = 0;
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            if (chunk.MessageId is null || chunk.Count == 0)
            {
                continue;
            }

            var keep = new bool[chunk.Count];
            var kept = 0;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keep[reader.GetInt32(0)] = true;
                kept++;
            }

            // All new, the common case: copied as a chunk without a message id is.
            claimed[c] = kept == chunk.Count ? null : keep;
            duplicates += chunk.Count - kept;
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        }

        return (claimed, duplicates);
    }

    private static void WriteRow(NpgsqlBinaryImporter copy, in PredictionRecord row, string? messageId, int seq)
    {
        copy.StartRow();
        copy.Write(row.Time.UtcDateTime, NpgsqlDbType.TimestampTz);
        copy.Write(row.PredictedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        copy.Write(row.Source, NpgsqlDbType.Text);
        WriteTextOrNull(copy, row.ToolId);
        WriteTextOrNull(copy, row.SensorId);
        copy.Write(row.Model, NpgsqlDbType.Text);
        copy.Write(row.ModelVersion, NpgsqlDbType.Integer);
        WriteRealOrNull(copy, row.Temperature);
        WriteRealOrNull(copy, row.Pressure);
        WriteRealOrNull(copy, row.FlowRate);
        copy.Write(row.Score, NpgsqlDbType.Real);
        copy.Write(row.IsAnomaly, NpgsqlDbType.Boolean);
        copy.Write(row.LatencyMs, NpgsqlDbType.Double);
        copy.Write(row.Class.Name(), NpgsqlDbType.Text);
        copy.Write(row.RequestId, NpgsqlDbType.Text);
        var context = row.Context;
        WriteTextOrNull(copy, context?.ChamberId);
        WriteTextOrNull(copy, context?.Recipe);
        WriteTextOrNull(copy, context?.Step);
        WriteTextOrNull(copy, context?.LotId);
        WriteTextOrNull(copy, context?.WaferId);
        if (row.Values is { } values)
        {
            copy.Write(values, NpgsqlDbType.Jsonb);
        }
        else
        {
            copy.WriteNull();
        }

        WriteTextOrNull(copy, messageId);
        if (messageId is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(seq, NpgsqlDbType.Integer);
        }
    }

    private static void WriteRealOrNull(NpgsqlBinaryImporter copy, float? value)
    {
        if (value is { } number)
        {
            copy.Write(number, NpgsqlDbType.Real);
        }
        else
        {
            copy.WriteNull();
        }
    }

    private static void WriteRow(NpgsqlBinaryImporter copy, in WaferRecord row)
    {
        copy.StartRow();
        copy.Write(row.PredictedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        copy.Write(row.Source, NpgsqlDbType.Text);
        copy.Write(row.Model, NpgsqlDbType.Text);
        copy.Write(row.ModelVersion, NpgsqlDbType.Integer);
        copy.Write(row.DefectType, NpgsqlDbType.Text);
        copy.Write(row.DefectDetected, NpgsqlDbType.Boolean);
        copy.Write(row.Confidence, NpgsqlDbType.Real);
        copy.Write(row.ClassProbabilities, NpgsqlDbType.Json);
        copy.Write(row.ImageSha256, NpgsqlDbType.Text);
        copy.Write(row.LatencyMs, NpgsqlDbType.Double);
        copy.Write(row.Class.Name(), NpgsqlDbType.Text);
        copy.Write(row.RequestId, NpgsqlDbType.Text);
    }

    private static void WriteTextOrNull(NpgsqlBinaryImporter copy, string? value)
    {
        if (value is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(value, NpgsqlDbType.Text);
        }
    }

    /// <summary>The day partitions the rows need (and, from today, tomorrow's, so midnight finds it there), each created once.</summary>
    private async Task EnsurePartitionsAsync(NpgsqlConnection connection, IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        var days = new HashSet<DateOnly>();
        foreach (var chunk in chunks)
        {
            foreach (ref readonly var row in chunk.Rows)
            {
                days.Add(DateOnly.FromDateTime(row.PredictedAt.UtcDateTime));
            }

            foreach (ref readonly var row in chunk.WaferRows)
            {
                days.Add(DateOnly.FromDateTime(row.PredictedAt.UtcDateTime));
            }
        }

        foreach (var day in days.ToArray())
        {
            days.Add(day.AddDays(1));
        }

        foreach (var day in days)
        {
            if (_partitions.ContainsKey(day))
            {
                continue;
            }

            foreach (var table in Partitioned)
            {
                try
                {
                    await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture,
                        $"CREATE TABLE IF NOT EXISTS {table}_p{day:yyyyMMdd} PARTITION OF {table} FOR VALUES FROM ('{day:yyyy-MM-dd} 00:00:00+00') TO ('{day.AddDays(1):yyyy-MM-dd} 00:00:00+00')"),
                        cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.UniqueViolation)
                {
                    // Another replica created it at the same moment.
                }
            }

            _partitions[day] = true;
        }
    }

    /// <summary>
    /// Drops every day partition whose day ended at or before <paramref name="cutoff"/> (whole days:
    /// a row is kept up to a day past the retention), counting their rows first; <paramref name="maxRows"/>
    /// does not apply, a partition going at once. The keys of broker messages' rows go with their
    /// rows' days, <paramref name="maxRows"/> at a time until none is left, uncounted (their rows are
    /// counted). Optimizer decisions are not partitioned: up to
    /// <paramref name="maxRows"/> of those decided before <paramref name="cutoff"/> are deleted.
    /// </summary>
    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int maxRows, CancellationToken cancellationToken)
    {
        await using var connection = await Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var deleted = 0L;
        foreach (var table in Partitioned)
        {
            var partitions = new List<(string Name, DateOnly Day)>();
            await using (var list = new NpgsqlCommand(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass", connection))
            {
                list.Parameters.AddWithValue(table);
                await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var name = reader.GetString(0);
                    if (DateOnly.TryParseExact(name[(table.Length + 2)..], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                    {
                        partitions.Add((name, day));
                    }
                }
            }

            foreach (var (name, day) in partitions.Where(p => new DateTimeOffset(p.Day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) <= cutoff))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {name}", connection, transaction))
                {
                    deleted += (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                await ExecuteAsync(connection, $"DROP TABLE {name}", cancellationToken, transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                _partitions.TryRemove(day, out _);
            }
        }

        // A message's key is kept as of its first row's time, and goes when that row's day does: a row stored is
        // never stored twice while it is kept.
        var droppedDays = new DateTimeOffset(cutoff.UtcDateTime.Date, TimeSpan.Zero);
        await using (var keys = new NpgsqlCommand(
            """
            DELETE FROM ingested_messages WHERE (message_id, message_seq) IN (
                SELECT message_id, message_seq FROM ingested_messages WHERE stored_at < $1 LIMIT $2)
            """, connection))
        {
            keys.Parameters.AddWithValue(droppedDays);
            keys.Parameters.AddWithValue(maxRows);
            int gone;
            do
            {
                gone = await keys.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            while (gone > 0 && gone >= maxRows);
        }

        await using (var decisions = new NpgsqlCommand(
            "DELETE FROM optimizer_decisions WHERE id IN (SELECT id FROM optimizer_decisions WHERE decided_at < $1 ORDER BY decided_at LIMIT $2)", connection))
        {
            decisions.Parameters.AddWithValue(cutoff);
            decisions.Parameters.AddWithValue(maxRows);
            deleted += await decisions.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return (int)Math.Min(int.MaxValue, deleted);
    }

    public async Task<int> DeleteOldAlertsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command("DELETE FROM alert_outbox WHERE delivered_at < $1", cutoff));
        batch.BatchCommands.Add(Command("DELETE FROM alert_events WHERE alert_id IN (SELECT id FROM alerts WHERE state = 'Resolved' AND resolved_at < $1 AND id < (SELECT max(id) FROM alerts))", cutoff));
        batch.BatchCommands.Add(Command("DELETE FROM alerts WHERE state = 'Resolved' AND resolved_at < $1 AND id < (SELECT max(id) FROM alerts)", cutoff));
        var deleted = await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand();
        var where = new StringBuilder("TRUE");
        Filter(command, where, "tool_id = ", query.ToolId);
        Filter(command, where, "sensor_id = ", query.SensorId);
        Filter(command, where, "model = ", query.Model);
        FilterContext(command, where, query.Context);
        Filter(command, where, "time >= ", query.From);
        Filter(command, where, "time < ", query.To);
        if (query.AnomaliesOnly)
        {
            where.Append(" AND is_anomaly");
        }

        Before(command, where, "time", query.After);
        command.CommandText = $"SELECT id, {Columns} FROM predictions WHERE {where} ORDER BY time DESC, id DESC LIMIT {query.Limit}";
        return await ReadAllAsync(command, r => StoredRows.Prediction(r, Time), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredWafer>> QueryWafersAsync(WaferQuery query, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand();
        var where = new StringBuilder("TRUE");
        Filter(command, where, "predicted_at >= ", query.From);
        Filter(command, where, "predicted_at < ", query.To);
        if (query.DefectsOnly)
        {
            where.Append(" AND defect_detected");
        }

        Before(command, where, "predicted_at", query.After);
        command.CommandText = $"SELECT id, {WaferColumns} FROM wafer_predictions WHERE {where} ORDER BY predicted_at DESC, id DESC LIMIT {query.Limit}";
        return await ReadAllAsync(command, r => StoredRows.Wafer(r, Time), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SummaryBucket>> SummarizeAsync(SummaryQuery query, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand();
        var where = new StringBuilder("time >= $1 AND time < $2");
        command.Parameters.AddWithValue(query.From);
        command.Parameters.AddWithValue(query.To);
        command.Parameters.AddWithValue(query.Bucket);
        command.Parameters.AddWithValue(query.Limit);
        Filter(command, where, "tool_id = ", query.ToolId);
        FilterContext(command, where, query.Context);
        // Buckets line up with the epoch (a 1 m bucket starts on the minute), not with From.
        var groups = string.Join(", ", query.GroupBy.Select(StoredRows.Column));
        var count = query.GroupBy.Count;
        command.CommandText = $"""
            SELECT {groups}, date_bin($3, time, timestamptz '1970-01-01 00:00:00+00') AS b,
                   count(*), count(*) FILTER (WHERE is_anomaly), avg(score), max(score)::double precision
            FROM predictions WHERE {where}
            GROUP BY {groups}, b ORDER BY {groups}, b LIMIT $4
            """;
        return await ReadAllAsync(command, r => StoredRows.Bucket(r, count, r.GetFieldValue<DateTimeOffset>(count)), cancellationToken).ConfigureAwait(false);
    }

    public async Task SaveDecisionsAsync(IReadOnlyList<OptimizerDecision> decisions, CancellationToken cancellationToken)
    {
        if (decisions.Count == 0)
        {
            return;
        }

        await using var connection = await Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var decision in decisions)
        {
            var upsert = new NpgsqlBatchCommand(StoredRows.SaveDecision);
            foreach (var (name, value) in StoredRows.DecisionParameters(decision, time => time.UtcDateTime))
            {
                upsert.Parameters.Add(new NpgsqlParameter(name, value));
            }

            batch.BatchCommands.Add(upsert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OptimizerDecision>> QueryDecisionsAsync(DecisionQuery query, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand();
        var where = new StringBuilder("TRUE");
        Filter(command, where, "tool_id = ", query.ToolId);
        command.CommandText = $"SELECT {StoredRows.DecisionColumns} FROM optimizer_decisions WHERE {where} ORDER BY decided_at DESC, id DESC LIMIT {query.Limit}";
        return await ReadAllAsync(command, r => StoredRows.Decision(r, Time), cancellationToken).ConfigureAwait(false);
    }

    public async Task SaveAlertAsync(AlertChange change, IReadOnlyList<string> notify, CancellationToken cancellationToken)
    {
        await using var connection = await Source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var a = change.Alert;
        var e = change.Event;
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO alerts (id, tool_id, sensor_id, model, severity, state, started_at, acknowledged_at, resolved_at, max_score, sensors, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, acknowledged_at = excluded.acknowledged_at,
                resolved_at = excluded.resolved_at, max_score = excluded.max_score, sensors = excluded.sensors, detail = excluded.detail
            """,
            a.Id, a.ToolId, a.SensorId, a.Model, a.Severity.ToString(), a.State.ToString(), a.StartedAt, a.AcknowledgedAt, a.ResolvedAt, a.MaxScore,
            Jsonb(JsonSerializer.Serialize(a.Sensors, ResultsJson.Default.IReadOnlyListString)), Jsonb(StoredRows.Detail(a))));
        batch.BatchCommands.Add(Command(
            "INSERT INTO alert_events (alert_id, time, kind, sensor_id, score, by, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            a.Id, e.Time, e.Kind, e.SensorId, e.Score, e.By, e.Note));
        // The alert as it stood at this change travels with the notification, whatever happens to it later.
        var alert = JsonSerializer.Serialize(a, ResultsJson.Default.AlertView);
        var step = JsonSerializer.Serialize(e, ResultsJson.Default.AlertEvent);
        foreach (var sink in notify)
        {
            batch.BatchCommands.Add(Command("INSERT INTO alert_outbox (sink, alert, event) VALUES ($1, $2, $3)", sink, Jsonb(alert), Jsonb(step)));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<(IReadOnlyList<AlertView> Alerts, long LastId)> LoadAlertsAsync(int recentResolved, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand(
            StoredRows.LoadAlerts.Replace("sensors, detail FROM", "sensors::text, detail::text FROM", StringComparison.Ordinal) + ";" + StoredRows.LoadTimelines + ";" + StoredRows.LastAlertId);
        command.Parameters.AddWithValue("recent", recentResolved);
        var alerts = new List<AlertView>();
        var steps = new List<(long, AlertEvent)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            alerts.Add(StoredRows.Alert(reader, Time));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            steps.Add(StoredRows.Step(reader, Time));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (StoredRows.WithTimelines(alerts, steps), reader.GetInt64(0));
    }

    public async Task SaveToolStateAsync(ToolStateView state, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand(StoredRows.SaveToolState);
        command.Parameters.AddWithValue("tool_id", state.ToolId);
        command.Parameters.AddWithValue("state", state.State.ToString());
        command.Parameters.AddWithValue("since", state.Since);
        command.Parameters.AddWithValue("by", state.By);
        command.Parameters.AddWithValue("note", (object?)state.Note ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ToolStateView>> LoadToolStatesAsync(CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand(StoredRows.LoadToolStates);
        return await ReadAllAsync(command, r => StoredRows.ToolState(r, Time), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Notification>> PendingAsync(string sink, int max, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand("SELECT seq, alert::text, event::text FROM alert_outbox WHERE sink = $1 AND delivered_at IS NULL ORDER BY seq LIMIT $2");
        command.Parameters.AddWithValue(sink);
        command.Parameters.AddWithValue(max);
        return await ReadAllAsync(command, r => StoredRows.Notification(r, sink), cancellationToken).ConfigureAwait(false);
    }

    public async Task DeliveredAsync(Notification notification, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = Source.CreateCommand("UPDATE alert_outbox SET delivered_at = $1 WHERE seq = $2");
        command.Parameters.AddWithValue(at);
        command.Parameters.AddWithValue(notification.Seq);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _source?.Dispose();

    private static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int column) => reader.GetFieldValue<DateTimeOffset>(column);

    private static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(read(reader));
        }

        return items;
    }

    /// <summary>Keyset paging: only the rows after the cursor, newest first, in (<paramref name="column"/>, id) order.</summary>
    private static void Before(NpgsqlCommand command, StringBuilder where, string column, PageCursor? after)
    {
        if (after is { } cursor)
        {
            command.Parameters.AddWithValue(UnixMicroseconds.ToTime(cursor.TimeMicroseconds));
            command.Parameters.AddWithValue(cursor.Id);
            where.Append(CultureInfo.InvariantCulture, $" AND ({column}, id) < (${command.Parameters.Count - 1}, ${command.Parameters.Count})");
        }
    }

    private static void Filter<T>(NpgsqlCommand command, StringBuilder where, string clause, T? value)
    {
        if (value is not null)
        {
            command.Parameters.AddWithValue(value);
            where.Append(" AND ").Append(clause).Append('$').Append(command.Parameters.Count);
        }
    }

    /// <summary>Each context field asked for: the field names are the columns' (checked, never the client's text).</summary>
    private static void FilterContext(NpgsqlCommand command, StringBuilder where, IReadOnlyList<KeyValuePair<string, string>> context)
    {
        foreach (var (field, value) in context)
        {
            Filter(command, where, $"{StoredRows.Column(field)} = ", value);
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    private static NpgsqlParameter Jsonb(string json) => new() { Value = json, NpgsqlDbType = NpgsqlDbType.Jsonb };

    private static void Migrate(NpgsqlConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLock}); CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)");
        using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version", connection, transaction);
        var current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > Migrations.Length)
        {
            throw new InvalidOperationException($"The results store is at schema version {current}, newer than this server's {Migrations.Length}.");
        }

        for (var version = current + 1; version <= Migrations.Length; version++)
        {
            Execute(connection, transaction, Migrations[version - 1] + $"; INSERT INTO schema_version (version) VALUES ({version});");
        }

        transaction.Commit();
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
