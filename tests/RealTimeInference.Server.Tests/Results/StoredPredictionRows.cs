using Microsoft.Data.Sqlite;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;

namespace RealTimeInference.Server.Tests.Results;

/// <summary>
/// The results file as the tests ask it: opened read-only, with its sensor predictions (kept in
/// blocks) read back through the store's own decoder into a temporary table <c>predictions</c> of
/// one row a prediction, with the broker message's key of each (<c>message_id</c>, <c>message_seq</c>).
/// </summary>
internal static class StoredPredictionRows
{
    public static SqliteConnection Open(string file)
    {
        var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        Execute(connection, """
            CREATE TEMP TABLE predictions (id INTEGER, time INTEGER, predicted_at INTEGER, source TEXT, tool_id TEXT, sensor_id TEXT, model TEXT,
                model_version INTEGER, temperature REAL, pressure REAL, flow_rate REAL, score REAL, is_anomaly INTEGER, latency_ms REAL, latency_class TEXT,
                request_id TEXT, chamber_id TEXT, recipe TEXT, step TEXT, lot_id TEXT, wafer_id TEXT, sensor_values TEXT, message_id TEXT, message_seq INTEGER)
            """);
        using (var exists = connection.CreateCommand())
        {
            exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'prediction_blocks'";
            if ((long)exists.ExecuteScalar()! == 0)
            {
                return connection;
            }
        }

        // A message's rows have blocks of their own: a block's keys, in index order, are its rows' in order.
        var keys = new Dictionary<long, List<(string Id, long Seq)>>();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT block_id, message_id, message_seq FROM prediction_messages ORDER BY block_id, message_seq";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                var block = reader.GetInt64(0);
                if (!keys.TryGetValue(block, out var list))
                {
                    keys[block] = list = [];
                }

                list.Add((reader.GetString(1), reader.GetInt64(2)));
            }
        }

        var rows = new List<(StoredPrediction Row, (string Id, long Seq)? Key)>();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT id, first_id, data FROM prediction_blocks ORDER BY id";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                var block = new List<StoredPrediction>();
                PredictionBlock.Read(reader.GetFieldValue<byte[]>(2), reader.GetInt64(1), _ => true, block);
                var blockKeys = keys.GetValueOrDefault(reader.GetInt64(0));
                rows.AddRange(block.Select((p, i) => (p, blockKeys is not null && i < blockKeys.Count ? blockKeys[i] : ((string, long)?)null)));
            }
        }

        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO predictions VALUES (" + string.Join(", ", Enumerable.Range(0, 24).Select(i => $"$p{i}")) + ")";
        var parameters = Enumerable.Range(0, 24).Select(i => insert.Parameters.Add(new SqliteParameter($"$p{i}", null))).ToArray();
        foreach (var ((id, r), key) in rows)
        {
            object?[] values =
            [
                id, UnixMicroseconds.From(r.Time), UnixMicroseconds.From(r.PredictedAt), r.Source, r.ToolId, r.SensorId, r.Model, r.ModelVersion,
                r.Temperature, r.Pressure, r.FlowRate, r.Score, r.IsAnomaly ? 1 : 0, r.LatencyMs, r.Class.Name(), r.RequestId,
                r.Context?.ChamberId, r.Context?.Recipe, r.Context?.Step, r.Context?.LotId, r.Context?.WaferId, r.Values, key?.Id, key?.Seq,
            ];
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }

            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
