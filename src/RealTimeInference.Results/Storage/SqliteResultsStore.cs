using System.Text;
using Microsoft.Data.Sqlite;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Results.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (readers never block the writer), times as
/// microseconds since the Unix epoch, one writer connection with a prepared insert, and a pooled
/// connection per query.
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
    ];

    private const string Columns =
        "time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, score, is_anomaly, latency_ms, latency_class, request_id";

    private readonly string _path;
    private readonly string _connectionString;
    private SqliteConnection? _writer;
    private SqliteCommand? _insert;

    public SqliteResultsStore(string path)
    {
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
    }

    /// <summary>The schema version this code writes.</summary>
    public static int SchemaVersion => Migrations.Length;

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
            Execute(_writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
            Migrate(_writer);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Results:Path '{_path}' cannot be opened as the results store: {ex.Message}", ex);
        }

        _insert = _writer.CreateCommand();
        _insert.CommandText = $"INSERT INTO predictions ({Columns}) VALUES ({string.Join(", ", Columns.Split(", ").Select(c => "$" + c))})";
        foreach (var column in Columns.Split(", "))
        {
            _insert.Parameters.Add(new SqliteParameter("$" + column, null));
        }

        _insert.Prepare();
    }

    public Task WriteAsync(IReadOnlyList<RecordChunk> chunks, CancellationToken cancellationToken)
    {
        var insert = _insert ?? throw new InvalidOperationException("The store is not initialized.");
        using var transaction = _writer!.BeginTransaction();
        insert.Transaction = transaction;
        var p = insert.Parameters;
        foreach (var chunk in chunks)
        {
            foreach (ref readonly var row in chunk.Rows)
            {
                p[0].Value = UnixMicroseconds.From(row.Time);
                p[1].Value = UnixMicroseconds.From(row.PredictedAt);
                p[2].Value = row.Source;
                p[3].Value = (object?)row.ToolId ?? DBNull.Value;
                p[4].Value = (object?)row.SensorId ?? DBNull.Value;
                p[5].Value = row.Model;
                p[6].Value = row.ModelVersion;
                p[7].Value = row.Temperature;
                p[8].Value = row.Pressure;
                p[9].Value = row.FlowRate;
                p[10].Value = row.Score;
                p[11].Value = row.IsAnomaly;
                p[12].Value = row.LatencyMs;
                p[13].Value = row.Class.Name();
                p[14].Value = row.RequestId;
                insert.ExecuteNonQuery();
            }
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int maxRows, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        // Rows are stored in the order they were made, so the oldest are the first ids: the scan stops early.
        command.CommandText = "DELETE FROM predictions WHERE id IN (SELECT id FROM predictions WHERE predicted_at < $cutoff ORDER BY id LIMIT $max)";
        command.Parameters.AddWithValue("$cutoff", UnixMicroseconds.From(cutoff));
        command.Parameters.AddWithValue("$max", maxRows);
        return Task.FromResult(command.ExecuteNonQuery());
    }

    public Task<IReadOnlyList<StoredPrediction>> QueryAsync(PredictionQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("1 = 1");
        Filter(command, where, "tool_id = $tool", "$tool", query.ToolId);
        Filter(command, where, "sensor_id = $sensor", "$sensor", query.SensorId);
        Filter(command, where, "time >= $from", "$from", query.From is { } from ? UnixMicroseconds.From(from) : null);
        Filter(command, where, "time < $to", "$to", query.To is { } to ? UnixMicroseconds.From(to) : null);
        if (query.AnomaliesOnly)
        {
            where.Append(" AND is_anomaly = 1");
        }

        if (query.After is { } after)
        {
            where.Append(" AND (time, id) < ($afterTime, $afterId)");
            command.Parameters.AddWithValue("$afterTime", after.TimeMicroseconds);
            command.Parameters.AddWithValue("$afterId", after.Id);
        }

        command.CommandText = $"SELECT id, {Columns} FROM predictions WHERE {where} ORDER BY time DESC, id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", query.Limit);
        var items = new List<StoredPrediction>(Math.Min(query.Limit, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            items.Add(new StoredPrediction(reader.GetInt64(0), new PredictionRecord(
                UnixMicroseconds.ToTime(reader.GetInt64(1)),
                UnixMicroseconds.ToTime(reader.GetInt64(2)),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetString(6),
                reader.GetInt32(7),
                reader.GetFloat(8),
                reader.GetFloat(9),
                reader.GetFloat(10),
                reader.GetFloat(11),
                reader.GetBoolean(12),
                reader.GetDouble(13),
                LatencyClasses.TryParse(reader.GetString(14), out var latencyClass) ? latencyClass : LatencyClass.ProcessControl,
                reader.GetString(15))));
        }

        return Task.FromResult<IReadOnlyList<StoredPrediction>>(items);
    }

    public Task<IReadOnlyList<SummaryBucket>> SummarizeAsync(SummaryQuery query, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("time >= $from AND time < $to");
        command.Parameters.AddWithValue("$from", UnixMicroseconds.From(query.From));
        command.Parameters.AddWithValue("$to", UnixMicroseconds.From(query.To));
        Filter(command, where, "tool_id = $tool", "$tool", query.ToolId);
        // Buckets line up with the epoch (a 1 m bucket starts on the minute), not with From.
        command.CommandText = $"""
            SELECT tool_id, sensor_id, time / $bucket AS b, count(*), sum(is_anomaly), avg(score), max(score)
            FROM predictions WHERE {where}
            GROUP BY tool_id, sensor_id, b ORDER BY tool_id, sensor_id, b
            """;
        var bucket = (long)(query.Bucket.Ticks / 10);
        command.Parameters.AddWithValue("$bucket", bucket);
        var buckets = new List<SummaryBucket>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            buckets.Add(new SummaryBucket(
                reader.IsDBNull(0) ? null : reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                UnixMicroseconds.ToTime(reader.GetInt64(2) * bucket),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetDouble(5),
                reader.GetDouble(6)));
        }

        return Task.FromResult<IReadOnlyList<SummaryBucket>>(buckets);
    }

    public void Dispose()
    {
        _insert?.Dispose();
        _writer?.Dispose();
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
        var current = Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
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
