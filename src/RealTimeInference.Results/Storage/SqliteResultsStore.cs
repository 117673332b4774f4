using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
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
/// microseconds since the Unix epoch, one writer connection with prepared inserts, and a pooled
/// connection per query. Sensor predictions are kept in blocks of a tool's rows
/// (<see cref="PredictionBlock"/>), so that a write of 50,000 rows is a dozen inserts, not 50,000 into
/// every index. A broker message's keys (message id, index) are kept in a table of their own, so a
/// redelivered message's rows are skipped before they reach a block.
/// </summary>
internal sealed class SqliteResultsStore : IResultsStore
{
    /// <summary>Each schema version's statements, applied in order once; the file records the last one applied.</summary>
    internal static readonly string[] Migrations =
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
        // Predictions in blocks (PredictionBlock): a row costs no index insert. The rows of the table before are
        // moved into blocks by ConvertRowTable; a broker message's keys go to a table of their own.
        """
        CREATE TABLE prediction_blocks (
            id INTEGER PRIMARY KEY,
            first_id INTEGER NOT NULL,
            rows INTEGER NOT NULL,
            min_time INTEGER NOT NULL,
            max_time INTEGER NOT NULL,
            max_predicted_at INTEGER NOT NULL,
            anomalies INTEGER NOT NULL,
            tool_id TEXT,
            model TEXT,
            data BLOB NOT NULL);
        CREATE INDEX prediction_blocks_by_time ON prediction_blocks (max_time);
        CREATE INDEX prediction_blocks_by_tool ON prediction_blocks (tool_id, max_time) WHERE tool_id IS NOT NULL;
        CREATE TABLE prediction_messages (
            message_id TEXT NOT NULL,
            message_seq INTEGER NOT NULL,
            block_id INTEGER NOT NULL,
            PRIMARY KEY (message_id, message_seq)) WITHOUT ROWID;
        CREATE INDEX prediction_messages_by_block ON prediction_messages (block_id);
        ALTER TABLE predictions RENAME TO predictions_v8;
        """,
    ];

    private const string Columns = StoredRows.PredictionColumns;

    private readonly string _path;
    private readonly string _connectionString;
    private const string WaferColumns =
        "predicted_at, source, model, model_version, defect_type, defect_detected, confidence, class_probabilities, image_sha256, latency_ms, latency_class, request_id";

    private SqliteConnection? _writer;
    private sqlite3_stmt? _insertBlock;
    private sqlite3_stmt? _insertKey;
    private sqlite3_stmt? _insertWafer;

    // The writer's own: the next block's id and its first row's, and the buffers a write reuses.
    private long _nextBlock;
    private long _nextRow;
    private readonly Dictionary<string, List<(int Chunk, int Start, int Count)>> _byTool = new(StringComparer.Ordinal);
    private readonly List<PredictionRecord> _kept = [];
    private readonly ArrayBufferWriter<byte> _block = new(1 << 20);
    private readonly PredictionBlock _blocks = new();
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(1);
    private readonly ManualResetEventSlim _stopping = new();
    private Thread? _checkpointer;

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
            // The writer never checkpoints (copies the log into the file and syncs it, which stalled it long
            // enough to fill the queue at /predict-batch's rate): a thread of its own does, every second.
            Execute(_writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 0;");
            Migrate(_writer);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Results:Path '{_path}' cannot be opened as the results store: {ex.Message}", ex);
        }

        // Bound by position through SQLite's own API on the writer's connection: Microsoft.Data.Sqlite's
        // parameters box every value and bind by name on each execution.
        _insertBlock = Prepare(_writer, "prediction_blocks", "id, first_id, rows, min_time, max_time, max_predicted_at, anomalies, tool_id, model, data");
        // A broker message's row, kept once per (message id, index): the primary key skips it when it is there already.
        _insertKey = Prepare(_writer, "prediction_messages", "message_id, message_seq, block_id", " ON CONFLICT DO NOTHING");
        _insertWafer = Prepare(_writer, "wafer_predictions", WaferColumns);
        ConvertRowTable(_writer);
        using var next = _writer.CreateCommand();
        next.CommandText = "SELECT coalesce(max(id), 0) + 1, coalesce(max(first_id + rows), 1) FROM prediction_blocks";
        using var reader = next.ExecuteReader();
        reader.Read();
        (_nextBlock, _nextRow) = (reader.GetInt64(0), reader.GetInt64(1));
        _checkpointer = new Thread(Checkpoint) { IsBackground = true, Name = "results checkpoint" };
        _checkpointer.Start();
    }

    /// <summary>
    /// Copies the log's committed pages into the file beside the writer (a passive checkpoint waits for
    /// no one), once a second until the store is disposed; the log starts over once all of it is in.
    /// </summary>
    private void Checkpoint()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        while (!_stopping.Wait(CheckpointInterval))
        {
            try
            {
                command.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Busy or failing now: the log keeps every page until the next checkpoint takes it.
            }
        }
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

    /// <summary>
    /// One transaction: the rows of each tool in blocks of their own (a query for a tool reads its blocks
    /// only), a broker message's rows in blocks of theirs beside their keys, and the wafer verdicts.
    /// </summary>
    public Task<int> WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        var db = _writer?.Handle ?? throw new InvalidOperationException("The store is not initialized.");
        var duplicates = 0;
        var (block, row) = (_nextBlock, _nextRow);
        using var transaction = _writer.BeginTransaction();
        foreach (var runs in _byTool.Values)
        {
            runs.Clear();
        }

        try
        {
            for (var c = 0; c < chunks.Count; c++)
            {
                var chunk = chunks[c];
                if (chunk.MessageId is { } messageId)
                {
                    duplicates += KeepNew(db, chunk.Rows, messageId, block);
                    foreach (ref readonly var kept in CollectionsMarshal.AsSpan(_kept))
                    {
                        Add(db, kept, ref block, ref row);
                    }

                    Finish(db, ref block, ref row);
                }
                else
                {
                    // Each stretch of one tool's rows, by where it lies: no row is copied before it is packed.
                    var rows = chunk.Rows;
                    for (int start = 0, end; start < rows.Length; start = end)
                    {
                        var tool = rows[start].ToolId;
                        for (end = start + 1; end < rows.Length && (ReferenceEquals(rows[end].ToolId, tool) || rows[end].ToolId == tool); end++)
                        {
                        }

                        if (!_byTool.TryGetValue(tool ?? "", out var runs))
                        {
                            _byTool[tool ?? ""] = runs = [];
                        }

                        runs.Add((c, start, end - start));
                    }
                }

                foreach (ref readonly var wafer in chunk.WaferRows)
                {
                    Bind(_insertWafer!, wafer);
                    Step(db, _insertWafer!);
                }
            }

            foreach (var runs in _byTool.Values)
            {
                foreach (var (c, start, count) in runs)
                {
                    foreach (ref readonly var r in chunks[c].Rows.Slice(start, count))
                    {
                        Add(db, r, ref block, ref row);
                    }
                }

                Finish(db, ref block, ref row);
            }
        }
        catch
        {
            _blocks.Discard();
            throw;
        }

        transaction.Commit();
        (_nextBlock, _nextRow) = (block, row);
        if (_byTool.Count > 10_000)
        {
            // A write of many tools once does not keep a list for each of them for good.
            _byTool.Clear();
        }

        return Task.FromResult(duplicates);
    }

    /// <summary>Keeps in <see cref="_kept"/> a broker message's rows whose key (<paramref name="messageId"/>, index) is new, each key under the block its row goes to; returns how many were there already.</summary>
    private int KeepNew(sqlite3 db, ReadOnlySpan<PredictionRecord> rows, string messageId, long firstBlock)
    {
        _kept.Clear();
        var duplicates = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            raw.sqlite3_bind_text(_insertKey!, 1, messageId);
            raw.sqlite3_bind_int(_insertKey!, 2, i);
            raw.sqlite3_bind_int64(_insertKey!, 3, firstBlock + (_kept.Count / PredictionBlock.MaxRows));
            Step(db, _insertKey!);
            // Nothing inserted: the conflict clause skipped the key (any other failure throws).
            if (raw.sqlite3_changes(db) == 0)
            {
                duplicates++;
            }
            else
            {
                _kept.Add(rows[i]);
            }
        }

        return duplicates;
    }

    /// <summary>Adds a row to the block being written, which is written once full; blocks and rows are numbered on from <paramref name="block"/> and <paramref name="row"/>.</summary>
    private void Add(sqlite3 db, in PredictionRecord record, ref long block, ref long row)
    {
        _blocks.Add(record);
        if (_blocks.Rows == PredictionBlock.MaxRows)
        {
            Finish(db, ref block, ref row);
        }
    }

    /// <summary>Writes the block being written, if it has rows.</summary>
    private void Finish(sqlite3 db, ref long block, ref long row)
    {
        if (_blocks.Rows == 0)
        {
            return;
        }

        _block.ResetWrittenCount();
        var summary = _blocks.Finish(_block);
        var s = _insertBlock!;
        raw.sqlite3_bind_int64(s, 1, block);
        raw.sqlite3_bind_int64(s, 2, row);
        raw.sqlite3_bind_int(s, 3, summary.Rows);
        raw.sqlite3_bind_int64(s, 4, summary.MinTime);
        raw.sqlite3_bind_int64(s, 5, summary.MaxTime);
        raw.sqlite3_bind_int64(s, 6, summary.MaxPredictedAt);
        raw.sqlite3_bind_int(s, 7, summary.Anomalies);
        BindTextOrNull(s, 8, summary.ToolId);
        BindTextOrNull(s, 9, summary.Model);
        raw.sqlite3_bind_blob(s, 10, _block.WrittenSpan);
        Step(db, s);
        block++;
        row += summary.Rows;
    }

    /// <summary>
    /// Moves the rows of the table the schema before blocks kept (<c>predictions_v8</c>) into blocks, in
    /// their order, with their messages' keys; then drops it. One transaction: a crash leaves it for the next start.
    /// </summary>
    private void ConvertRowTable(SqliteConnection connection)
    {
        using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'predictions_v8'";
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                return;
            }
        }

        var db = connection.Handle!;
        using var transaction = connection.BeginTransaction();
        long block = 1, row = 1;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = $"SELECT id, {Columns}, message_id, message_seq FROM predictions_v8 ORDER BY id";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                if (!reader.IsDBNull(StoredRows.PredictionColumnCount + 1))
                {
                    raw.sqlite3_bind_text(_insertKey!, 1, reader.GetString(StoredRows.PredictionColumnCount + 1));
                    raw.sqlite3_bind_int64(_insertKey!, 2, reader.GetInt64(StoredRows.PredictionColumnCount + 2));
                    raw.sqlite3_bind_int64(_insertKey!, 3, block);
                    Step(db, _insertKey!);
                }

                Add(db, StoredRows.Prediction(reader, Time).Record, ref block, ref row);
            }
        }

        Finish(db, ref block, ref row);
        using (var drop = connection.CreateCommand())
        {
            drop.Transaction = transaction;
            drop.CommandText = "DROP TABLE predictions_v8";
            drop.ExecuteNonQuery();
        }

        transaction.Commit();
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
        using var transaction = connection.BeginTransaction();
        // Whole blocks, once their newest row is past the cutoff; blocks are numbered in the order they were
        // made, so the oldest are the first ids and the scan stops early.
        var blocks = new List<long>();
        var rows = 0;
        using (var old = connection.CreateCommand())
        {
            old.Transaction = transaction;
            old.CommandText = "SELECT id, rows FROM prediction_blocks WHERE max_predicted_at < $cutoff ORDER BY id LIMIT $max";
            old.Parameters.AddWithValue("$cutoff", UnixMicroseconds.From(cutoff));
            old.Parameters.AddWithValue("$max", maxRows);
            using var reader = old.ExecuteReader();
            while (reader.Read() && (blocks.Count == 0 || rows + reader.GetInt32(1) <= maxRows))
            {
                blocks.Add(reader.GetInt64(0));
                rows += reader.GetInt32(1);
            }
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var ids = string.Join(", ", blocks);
        command.CommandText = $"""
            DELETE FROM prediction_blocks WHERE id IN ({ids});
            DELETE FROM prediction_messages WHERE block_id IN ({ids});
            """;
        command.ExecuteNonQuery();
        command.CommandText = """
            DELETE FROM wafer_predictions WHERE id IN (SELECT id FROM wafer_predictions WHERE predicted_at < $cutoff ORDER BY id LIMIT $max);
            DELETE FROM optimizer_decisions WHERE id IN (SELECT id FROM optimizer_decisions WHERE decided_at < $cutoff ORDER BY decided_at LIMIT $max);
            """;
        command.Parameters.AddWithValue("$cutoff", UnixMicroseconds.From(cutoff));
        command.Parameters.AddWithValue("$max", maxRows);
        rows += command.ExecuteNonQuery();
        transaction.Commit();
        return Task.FromResult(rows);
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

    /// <summary>
    /// Reads the blocks that may hold a match, newest (by their newest row) first, and stops once the
    /// page is full of rows newer than anything the next block holds.
    /// </summary>
    public Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = BlockFilter(command, query.ToolId, query.Model, query.From, query.To);
        if (query.AnomaliesOnly)
        {
            where.Append(" AND anomalies > 0");
        }

        Filter(command, where, "min_time <= $afterTime", "$afterTime", query.After?.TimeMicroseconds);
        command.CommandText = $"SELECT first_id, max_time, data FROM prediction_blocks WHERE {where} ORDER BY max_time DESC";
        var matches = Matches(query.ToolId, query.SensorId, query.Model, query.Context, query.From, query.To);
        // Rows after the cursor only: before it in (time, id), newest first.
        var before = query.After is { } cursor ? (cursor.TimeMicroseconds, cursor.Id) : (long.MaxValue, long.MaxValue);
        Func<StoredPrediction, bool> keep = p => (!query.AnomaliesOnly || p.Record.IsAnomaly) && matches(p.Record)
            && (UnixMicroseconds.From(p.Record.Time), p.Id).CompareTo(before) < 0;
        var found = new List<StoredPrediction>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (found.Count >= query.Limit && Newest(found, query.Limit)[^1].Record.Time > UnixMicroseconds.ToTime(reader.GetInt64(1)))
            {
                break;
            }

            PredictionBlock.Read(reader.GetFieldValue<byte[]>(2), reader.GetInt64(0), keep, found);
        }

        return Task.FromResult<IReadOnlyList<StoredPrediction>>(Newest(found, query.Limit));
    }

    /// <summary>Sorts <paramref name="found"/> newest first (by reading time, then id) and keeps the first <paramref name="limit"/>.</summary>
    private static List<StoredPrediction> Newest(List<StoredPrediction> found, int limit)
    {
        found.Sort((a, b) => (b.Record.Time, b.Id).CompareTo((a.Record.Time, a.Id)));
        if (found.Count > limit)
        {
            found.RemoveRange(limit, found.Count - limit);
        }

        return found;
    }

    /// <summary>What a block's columns can rule out: its time range, its one tool and model when it has one.</summary>
    private static StringBuilder BlockFilter(SqliteCommand command, string? tool, string? model, DateTimeOffset? from, DateTimeOffset? to)
    {
        var where = new StringBuilder("1 = 1");
        Filter(command, where, "(tool_id = $tool OR tool_id IS NULL)", "$tool", tool);
        Filter(command, where, "(model = $model OR model IS NULL)", "$model", model);
        Filter(command, where, "max_time >= $from", "$from", from is { } f ? UnixMicroseconds.From(f) : null);
        Filter(command, where, "min_time < $to", "$to", to is { } t ? UnixMicroseconds.From(t) : null);
        return where;
    }

    /// <summary>Whether a row read from a block has what a query asks for.</summary>
    private static Func<PredictionRecord, bool> Matches(
        string? tool, string? sensor, string? model, IReadOnlyList<KeyValuePair<string, string>> context, DateTimeOffset? from, DateTimeOffset? to)
    {
        foreach (var field in context)
        {
            StoredRows.Column(field.Key);
        }

        return r => (tool is null || r.ToolId == tool) && (sensor is null || r.SensorId == sensor) && (model is null || r.Model == model)
            && (from is null || r.Time >= from) && (to is null || r.Time < to)
            && context.All(c => r.Context is { } x && x[c.Key] == c.Value);
    }

    /// <summary>The value a summary groups a row by: a context field, its sensor or its model.</summary>
    private static string? GroupValue(PredictionRecord r, string field) => field switch
    {
        "sensor_id" => r.SensorId,
        "model" => r.Model,
        "tool_id" => r.ToolId,
        _ => r.Context?[field],
    };

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
        var where = BlockFilter(command, query.ToolId, null, query.From, query.To);
        command.CommandText = $"SELECT first_id, data FROM prediction_blocks WHERE {where}";
        var matches = Matches(query.ToolId, null, null, query.Context, query.From, query.To);
        var groupBy = query.GroupBy.Select(StoredRows.Column).ToArray();
        // Buckets line up with the epoch (a 1 m bucket starts on the minute), not with From.
        var bucket = query.Bucket.Ticks / 10;
        var totals = new Dictionary<(string Group, long Bucket), (string?[] Values, long Count, long Anomalies, double Sum, double Max)>();
        var rows = new List<StoredPrediction>(PredictionBlock.MaxRows);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Clear();
            PredictionBlock.Read(reader.GetFieldValue<byte[]>(1), reader.GetInt64(0), p => matches(p.Record), rows);
            foreach (var (_, r) in rows)
            {
                var values = new string?[groupBy.Length];
                for (var g = 0; g < groupBy.Length; g++)
                {
                    values[g] = GroupValue(r, groupBy[g]);
                }

                var key = (string.Join('\u001f', values.Select(v => v is null ? "\u0000" : "\u0001" + v)), UnixMicroseconds.From(r.Time) / bucket);
                var t = totals.TryGetValue(key, out var seen) ? seen : (values, 0, 0, 0.0, double.MinValue);
                totals[key] = (t.Values, t.Count + 1, t.Anomalies + (r.IsAnomaly ? 1 : 0), t.Sum + r.Score, Math.Max(t.Max, r.Score));
            }
        }

        // In group and time order, nulls first, as the SQL stores order them.
        return Task.FromResult<IReadOnlyList<SummaryBucket>>([.. totals
            .OrderBy(t => t.Key.Group, StringComparer.Ordinal).ThenBy(t => t.Key.Bucket)
            .Take(query.Limit)
            .Select(t => new SummaryBucket(t.Value.Values, UnixMicroseconds.ToTime(t.Key.Bucket * bucket), t.Value.Count, t.Value.Anomalies, t.Value.Sum / t.Value.Count, t.Value.Max))]);
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
        if (_checkpointer is { } checkpointer)
        {
            _stopping.Set();
            checkpointer.Join();
            _checkpointer = null;
            _stopping.Dispose();
        }

        _insertBlock?.Dispose();
        _insertKey?.Dispose();
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
