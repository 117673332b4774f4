using Microsoft.Data.Sqlite;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

public sealed class SqliteResultsStoreTests : ResultsStoreContract
{
    private readonly StoreFolder _folder = new();

    protected override IResultsStore Open() => new SqliteResultsStore(_folder.File);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }

    protected override string MessageKeys => "prediction_messages";

    [Fact]
    public async Task DeleteOlderThan_RemovesWholeBlocksOfOldPredictions_AtMostTheGivenRows()
    {
        // A write's rows of one tool share a block: five writes, five blocks of old rows.
        foreach (var i in Enumerable.Range(0, 5))
        {
            await Store.WriteAsync([Chunk(Row(predictedAt: T0.AddDays(-8), request: $"old{i}"))], CancellationToken.None);
        }

        await Store.WriteAsync([Chunk(Row(predictedAt: T0, request: "recent"))], CancellationToken.None);

        Assert.Equal(3, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(2, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(0, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(["recent"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task DeleteOlderThan_KeepsABlockUntilItsNewestRowIsOld_AndTakesOneLargerThanTheLimitWhole()
    {
        await Store.WriteAsync([Chunk(Row(predictedAt: T0.AddDays(-8), request: "old"), Row(predictedAt: T0, request: "recent"))], CancellationToken.None);
        Assert.Equal(0, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 10, CancellationToken.None));

        await Store.WriteAsync([Chunk([.. Enumerable.Range(0, 5).Select(i => Row(predictedAt: T0.AddDays(-8), request: $"batch{i}"))])], CancellationToken.None);
        Assert.Equal(5, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(2, (await Query()).Count);
    }

    [Fact]
    public async Task Pages_AcrossBlocksWhoseTimesOverlap_WalkEveryRowOnce_NewestFirst()
    {
        // Two tools, so two blocks a write, and writes whose reading times interleave.
        var written = new List<string>();
        for (var w = 0; w < 4; w++)
        {
            var rows = Enumerable.Range(0, 10).Select(i => Row(tool: i % 2 == 0 ? "t1" : "t2", time: T0.AddSeconds((i * 4) + w), request: $"w{w}r{i}")).ToArray();
            written.AddRange(rows.Select(r => r.RequestId));
            await Store.WriteAsync([Chunk(rows)], CancellationToken.None);
        }

        var seen = new List<StoredPrediction>();
        PageCursor? after = null;
        do
        {
            var page = await Store.QueryAsync(new PredictionQuery(null, null, null, null, false, 7, after), CancellationToken.None);
            seen.AddRange(page);
            after = page.Count == 7 ? PageCursor.After(page[^1]) : null;
        }
        while (after is not null);

        Assert.Equal(written.Order(), seen.Select(p => p.Record.RequestId).Order());
        Assert.Equal(seen.OrderByDescending(p => p.Record.Time).ThenByDescending(p => p.Id).Select(p => p.Id), seen.Select(p => p.Id));
    }

    [Fact]
    public async Task AFileOfTheSchemaBeforeBlocks_HasItsRowsAndMessageKeysMovedIntoBlocks()
    {
        Store.Dispose();
        SqliteConnection.ClearAllPools();
        File.Delete(_folder.File);
        using (var connection = new SqliteConnection($"Data Source={_folder.File};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_version (version INTEGER NOT NULL);" + string.Join(";", SqliteResultsStore.Migrations[..8]) + """
                ;INSERT INTO schema_version VALUES (8);
                INSERT INTO predictions (time, predicted_at, source, tool_id, sensor_id, model, model_version, temperature, pressure, flow_rate, score,
                    is_anomaly, latency_ms, latency_class, request_id, message_id, message_seq, chamber_id, sensor_values)
                VALUES (1000, 2000, 'http', 'etch-01', 's1', 'sensor-anomaly', 2, 300.5, 1013, 100, 0.25, 0, 1.5, 'process-control', 'r-old', NULL, NULL, NULL, NULL),
                       (3000, 4000, 'rabbitmq', 'etch-01', NULL, 'fdc', 1, NULL, NULL, NULL, 0.75, 1, 2.5, 'process-control', 'r-msg', 'm-1', 0, 'A', '{"rf":1}');
                """;
            command.ExecuteNonQuery();
        }

        Store.Dispose();
        Store = Open();
        Store.Initialize();

        var rows = await Query();
        Assert.Equal(["r-msg", "r-old"], rows.Select(p => p.Record.RequestId));
        Assert.Equal(("A", "{\"rf\":1}", 0.75f, true), (rows[0].Record.Context?.ChamberId, rows[0].Record.Values, rows[0].Record.Score, rows[0].Record.IsAnomaly));
        Assert.Equal((300.5f, 1.5, 2), (rows[1].Record.Temperature, rows[1].Record.LatencyMs, rows[1].Record.ModelVersion));
        Assert.Equal(1, await Store.WriteAsync([MessageChunk("m-1", Row(request: "again"))], CancellationToken.None));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM sqlite_master WHERE name = 'predictions_v8'"));
    }

    [Fact]
    public void Initialize_WhereTheFileCannotBeCreated_FailsNamingTheSetting()
    {
        // A file where the store's folder should be: no directory can be made there.
        File.WriteAllText(Path.Combine(_folder.Path, "blocker"), "");
        using var store = new SqliteResultsStore(Path.Combine(_folder.Path, "blocker", "results.db"));

        var error = Assert.Throws<InvalidOperationException>(store.Initialize);

        Assert.Contains("Results:Path", error.Message, StringComparison.Ordinal);
    }

    protected override Task<long> CountAsync(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_folder.File};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Task.FromResult((long)command.ExecuteScalar()!);
    }
}
