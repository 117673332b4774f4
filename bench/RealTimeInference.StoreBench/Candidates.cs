using System.Diagnostics;
using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;

/// <summary>
/// The engines the embedded store could be, each fed the same rows (as /predict-batch makes them: 1,000
/// a chunk, 50 tools x 20 sensors, no context) in the writer's flushes of --flush rows, on one thread,
/// to a fresh file: rows a second and CPU microseconds a row, one line each. <c>store</c> is the
/// server's own store (<see cref="ResultsStoreChoice"/>, whichever schema it has now); the others are
/// the same columns written the engine's fastest way, with no query path behind them.
/// </summary>
internal static class Candidates
{
    public static readonly string[] Names = ["store", "sqlite-rows", "sqlite-multirow", "duckdb-appender", "arrow-ipc"];

    private const int ChunkRows = 1000;

    public static async Task<int> RunAsync(string name, string folder, long rows, int flushRows)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{name}.data");
        foreach (var file in Directory.GetFiles(folder, $"{name}.data*"))
        {
            File.Delete(file);
        }

        var flush = Flush(name, path);
        var chunks = Chunks(flushRows);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (long written = 0; written < rows; written += flushRows)
        {
            await flush.WriteAsync(chunks);
        }

        await flush.DisposeAsync();
        var elapsed = clock.Elapsed;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var bytes = Directory.GetFiles(folder, $"{name}.data*").Sum(f => new FileInfo(f).Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"candidate={name} rows={rows} flush={flushRows} seconds={elapsed.TotalSeconds:F2} rows_per_second={rows / elapsed.TotalSeconds:F0} " +
            $"cpu_us_per_row={cpuSeconds * 1e6 / rows:F3} bytes_per_row={(double)bytes / rows:F1}"));
        return 0;
    }

    /// <summary>One flush's chunks, made once: the engines, not the rows' making, are measured.</summary>
    private static List<RecordChunk> Chunks(int flushRows)
    {
        var now = DateTimeOffset.UtcNow;
        var chunks = new List<RecordChunk>();
        for (var n = 0; n < flushRows; n += ChunkRows)
        {
            var records = new PredictionRecord[ChunkRows];
            var request = $"bench-{n / ChunkRows}";
            for (var i = 0; i < ChunkRows; i++)
            {
                var k = n + i;
                records[i] = new PredictionRecord(
                    now.AddTicks(k * 10), now.AddTicks(k * 10), "http", $"tool-{k % 50:00}", $"sensor-{k / 50 % 20:00}", "sensor-anomaly", 1,
                    300 + (k % 100), 1013, 100, k % 1000 / 1000f, k % 50 == 0, 1.25, LatencyClass.ProcessControl, request);
            }

            chunks.Add(new RecordChunk(records, ChunkRows, pooled: false));
        }

        return chunks;
    }

    private static IFlush Flush(string name, string path) => name switch
    {
        "store" => new StoreFlush(path),
        "sqlite-rows" => new SqliteFlush(path, rowsPerStatement: 1),
        "sqlite-multirow" => new SqliteFlush(path, rowsPerStatement: 64),
        "duckdb-appender" => new DuckDbFlush(path),
        "arrow-ipc" => new ArrowFlush(path),
        _ => throw new ArgumentException($"--candidate must be one of {string.Join(", ", Names)}", nameof(name)),
    };

    private interface IFlush : IAsyncDisposable
    {
        Task WriteAsync(List<RecordChunk> chunks);
    }

    private sealed class StoreFlush : IFlush
    {
        private readonly ResultsStoreChoice _choice;

        public StoreFlush(string path)
        {
            _choice = new ResultsStoreChoice(Microsoft.Extensions.Options.Options.Create(new ResultsOptions { Store = ResultsStoreKind.Sqlite, Path = path }));
            _choice.Store!.Initialize();
        }

        public Task WriteAsync(List<RecordChunk> chunks) => _choice.Store!.WriteAsync(chunks, CancellationToken.None);

        public ValueTask DisposeAsync()
        {
            _choice.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>SQLite tuned: WAL, synchronous=NORMAL, 16 KiB pages, one transaction a flush, the store's indexes, prepared inserts of <c>rowsPerStatement</c> rows.</summary>
    private sealed class SqliteFlush : IFlush
    {
        private const int Columns = 16;
        private readonly SqliteConnection _connection;
        private readonly int _rowsPerStatement;
        private readonly SqliteCommand _insert;

        public SqliteFlush(string path, int rowsPerStatement)
        {
            _rowsPerStatement = rowsPerStatement;
            _connection = new SqliteConnection($"Data Source={path}");
            _connection.Open();
            Execute("""
                PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
                CREATE TABLE predictions (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, predicted_at INTEGER NOT NULL, source TEXT NOT NULL,
                    tool_id TEXT, sensor_id TEXT, model TEXT NOT NULL, model_version INTEGER NOT NULL, temperature REAL, pressure REAL, flow_rate REAL,
                    score REAL NOT NULL, is_anomaly INTEGER NOT NULL, latency_ms REAL NOT NULL, latency_class TEXT NOT NULL, request_id TEXT NOT NULL);
                CREATE INDEX predictions_by_time ON predictions (time);
                CREATE INDEX predictions_by_tool ON predictions (tool_id, sensor_id, time);
                """);
            var values = string.Join(", ", Enumerable.Range(0, rowsPerStatement).Select(r => $"({string.Join(", ", Enumerable.Range(0, Columns).Select(c => $"$p{(r * Columns) + c}"))})"));
            _insert = _connection.CreateCommand();
            _insert.CommandText = "INSERT INTO predictions (time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, " +
                $"score, is_anomaly, latency_ms, latency_class, request_id, id) VALUES {values}";
            for (var p = 0; p < rowsPerStatement * Columns; p++)
            {
                _insert.Parameters.Add(new SqliteParameter($"$p{p}", null));
            }

            _insert.Prepare();
        }

        private long _id;

        public Task WriteAsync(List<RecordChunk> chunks)
        {
            using var transaction = _connection.BeginTransaction();
            _insert.Transaction = transaction;
            var p = _insert.Parameters;
            var row = 0;
            foreach (var chunk in chunks)
            {
                foreach (var r in chunk.Records.AsSpan(0, chunk.Count))
                {
                    var b = row * Columns;
                    p[b].Value = UnixMicroseconds.From(r.Time);
                    p[b + 1].Value = UnixMicroseconds.From(r.PredictedAt);
                    p[b + 2].Value = r.Source;
                    p[b + 3].Value = r.ToolId;
                    p[b + 4].Value = r.SensorId;
                    p[b + 5].Value = r.Model;
                    p[b + 6].Value = r.ModelVersion;
                    p[b + 7].Value = r.Temperature;
                    p[b + 8].Value = r.Pressure;
                    p[b + 9].Value = r.FlowRate;
                    p[b + 10].Value = r.Score;
                    p[b + 11].Value = r.IsAnomaly;
                    p[b + 12].Value = r.LatencyMs;
                    p[b + 13].Value = r.Class.Name();
                    p[b + 14].Value = r.RequestId;
                    p[b + 15].Value = ++_id;
                    if (++row == _rowsPerStatement)
                    {
                        _insert.ExecuteNonQuery();
                        row = 0;
                    }
                }
            }

            transaction.Commit();
            return Task.CompletedTask;
        }

        private void Execute(string sql)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        public ValueTask DisposeAsync()
        {
            _insert.Dispose();
            _connection.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>DuckDB (embedded, columnar): the same columns, DuckDB.NET's appender, one appender a flush.</summary>
    private sealed class DuckDbFlush : IFlush
    {
        private readonly DuckDBConnection _connection;

        public DuckDbFlush(string path)
        {
            _connection = new DuckDBConnection($"Data Source={path}");
            _connection.Open();
            using var command = _connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE predictions (time BIGINT NOT NULL, predicted_at BIGINT NOT NULL, source VARCHAR NOT NULL, tool_id VARCHAR, sensor_id VARCHAR,
                    model VARCHAR NOT NULL, model_version INTEGER NOT NULL, temperature REAL, pressure REAL, flow_rate REAL, score REAL NOT NULL,
                    is_anomaly BOOLEAN NOT NULL, latency_ms DOUBLE NOT NULL, latency_class VARCHAR NOT NULL, request_id VARCHAR NOT NULL)
                """;
            command.ExecuteNonQuery();
        }

        public Task WriteAsync(List<RecordChunk> chunks)
        {
            using var appender = _connection.CreateAppender("predictions");
            foreach (var chunk in chunks)
            {
                foreach (var r in chunk.Records.AsSpan(0, chunk.Count))
                {
                    appender.CreateRow()
                        .AppendValue(UnixMicroseconds.From(r.Time))
                        .AppendValue(UnixMicroseconds.From(r.PredictedAt))
                        .AppendValue(r.Source)
                        .AppendValue(r.ToolId)
                        .AppendValue(r.SensorId)
                        .AppendValue(r.Model)
                        .AppendValue(r.ModelVersion)
                        .AppendValue(r.Temperature)
                        .AppendValue(r.Pressure)
                        .AppendValue(r.FlowRate)
                        .AppendValue(r.Score)
                        .AppendValue(r.IsAnomaly)
                        .AppendValue(r.LatencyMs)
                        .AppendValue(r.Class.Name())
                        .AppendValue(r.RequestId)
                        .EndRow();
                }
            }

            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _connection.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Arrow IPC segments: one record batch a flush, strings dictionary-free, appended to one file stream.</summary>
    private sealed class ArrowFlush : IFlush
    {
        private readonly FileStream _file;
        private ArrowFileWriter? _writer;

        public ArrowFlush(string path) => _file = File.Create(path);

        public async Task WriteAsync(List<RecordChunk> chunks)
        {
            var time = new Int64Array.Builder();
            var predictedAt = new Int64Array.Builder();
            var source = new StringArray.Builder();
            var tool = new StringArray.Builder();
            var sensor = new StringArray.Builder();
            var model = new StringArray.Builder();
            var version = new Int32Array.Builder();
            var temperature = new FloatArray.Builder();
            var pressure = new FloatArray.Builder();
            var flow = new FloatArray.Builder();
            var score = new FloatArray.Builder();
            var anomaly = new BooleanArray.Builder();
            var latency = new DoubleArray.Builder();
            var latencyClass = new StringArray.Builder();
            var request = new StringArray.Builder();
            foreach (var chunk in chunks)
            {
                foreach (var r in chunk.Records.AsSpan(0, chunk.Count))
                {
                    time.Append(UnixMicroseconds.From(r.Time));
                    predictedAt.Append(UnixMicroseconds.From(r.PredictedAt));
                    source.Append(r.Source, Encoding.UTF8);
                    tool.Append(r.ToolId, Encoding.UTF8);
                    sensor.Append(r.SensorId, Encoding.UTF8);
                    model.Append(r.Model, Encoding.UTF8);
                    version.Append(r.ModelVersion);
                    temperature.Append(r.Temperature);
                    pressure.Append(r.Pressure);
                    flow.Append(r.FlowRate);
                    score.Append(r.Score);
                    anomaly.Append(r.IsAnomaly);
                    latency.Append(r.LatencyMs);
                    latencyClass.Append(r.Class.Name(), Encoding.UTF8);
                    request.Append(r.RequestId, Encoding.UTF8);
                }
            }

            IArrowArray[] arrays = [time.Build(), predictedAt.Build(), source.Build(), tool.Build(), sensor.Build(), model.Build(), version.Build(),
                temperature.Build(), pressure.Build(), flow.Build(), score.Build(), anomaly.Build(), latency.Build(), latencyClass.Build(), request.Build()];
            string[] names = ["time", "predicted_at", "source", "tool_id", "sensor_id", "model", "model_version", "temperature", "pressure", "flow_rate",
                "score", "is_anomaly", "latency_ms", "latency_class", "request_id"];
            var schema = new Schema.Builder();
            for (var c = 0; c < names.Length; c++)
            {
                schema.Field(f => f.Name(names[c]).DataType(arrays[c].Data.DataType).Nullable(true));
            }

            using var batch = new RecordBatch(schema.Build(), arrays, arrays[0].Length);
            _writer ??= new ArrowFileWriter(_file, batch.Schema, leaveOpen: true);
            await _writer.WriteRecordBatchAsync(batch);
            await _file.FlushAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (_writer is not null)
            {
                await _writer.WriteEndAsync();
                _writer.Dispose();
            }

            await _file.DisposeAsync();
        }
    }
}
