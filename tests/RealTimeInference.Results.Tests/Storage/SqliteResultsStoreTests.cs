using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

public sealed class SqliteResultsStoreTests : IDisposable
{
    private readonly StoreFolder _folder = new();
    private readonly SqliteResultsStore _store;

    public SqliteResultsStoreTests()
    {
        _store = new SqliteResultsStore(_folder.File);
        _store.Initialize();
    }

    public void Dispose()
    {
        _store.Dispose();
        _folder.Dispose();
    }

    private Task<IReadOnlyList<StoredPrediction>> Query(
        string? tool = null, string? sensor = null, DateTimeOffset? from = null, DateTimeOffset? to = null, bool anomaliesOnly = false, int limit = 100, PageCursor? after = null) =>
        _store.QueryAsync(new PredictionQuery(tool, sensor, from, to, anomaliesOnly, limit, after), CancellationToken.None);

    [Fact]
    public async Task Write_ThenQuery_ReturnsEveryFieldAsWritten()
    {
        var row = Row(tool: "tool-3", sensor: "s9", score: 0.93f, anomaly: true, request: "0HN:1") with { LatencyMs = 2.25, Temperature = 412.5f };
        await _store.WriteAsync([Chunk(row)], CancellationToken.None);

        var stored = Assert.Single(await Query());

        Assert.Equal(row, stored.Record);
    }

    [Fact]
    public async Task Query_FiltersByToolSensorTimeAndAnomaly_NewestFirst()
    {
        await _store.WriteAsync(
            [Chunk(
                Row("a", "1", T0, request: "old"),
                Row("a", "1", T0.AddMinutes(1), anomaly: true, request: "mid"),
                Row("a", "2", T0.AddMinutes(2), request: "other-sensor"),
                Row("b", "1", T0.AddMinutes(3), request: "other-tool"),
                Row("a", "1", T0.AddMinutes(4), request: "new"))],
            CancellationToken.None);

        Assert.Equal(["new", "mid", "old"], (await Query("a", "1")).Select(p => p.Record.RequestId));
        Assert.Equal(["other-sensor", "mid"], (await Query("a", from: T0.AddMinutes(1), to: T0.AddMinutes(4))).Select(p => p.Record.RequestId));
        Assert.Equal(["mid"], (await Query(anomaliesOnly: true)).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task Pages_WalkEveryRowOnce_EvenWhenTimesAreEqual()
    {
        var rows = Enumerable.Range(0, 25).Select(i => Row(time: T0.AddSeconds(i / 5), request: $"r{i}")).ToArray();
        await _store.WriteAsync([Chunk(rows[..12]), Chunk(rows[12..])], CancellationToken.None);

        var seen = new List<string>();
        PageCursor? after = null;
        while (await Query(limit: 4, after: after) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(p => p.Record.RequestId));
            after = PageCursor.After(page[^1]);
        }

        // Newest time first; within a time, the last written first.
        Assert.Equal(rows.Select(r => r.RequestId).Reverse(), seen);
    }

    [Fact]
    public async Task Summarize_CountsAnomaliesAndScoresPerSensorAndBucket()
    {
        await _store.WriteAsync(
            [Chunk(
                Row("a", "1", T0.AddSeconds(10), score: 0.2f),
                Row("a", "1", T0.AddSeconds(50), score: 0.8f, anomaly: true),
                Row("a", "1", T0.AddSeconds(70), score: 0.4f),
                Row("a", "2", T0.AddSeconds(5), score: 0.5f),
                Row("b", "1", T0.AddSeconds(5), score: 0.5f))],
            CancellationToken.None);

        var buckets = await _store.SummarizeAsync(new SummaryQuery("a", T0, T0.AddMinutes(5), TimeSpan.FromMinutes(1)), CancellationToken.None);

        Assert.Equal(3, buckets.Count);
        var first = buckets[0];
        Assert.Equal(("1", T0, 2L, 1L), (first.SensorId, first.BucketStart, first.Count, first.Anomalies));
        Assert.Equal(0.5, first.MeanScore, precision: 5);
        Assert.Equal(0.8, first.MaxScore, precision: 5);
        Assert.Equal(("1", T0.AddMinutes(1), 1L), (buckets[1].SensorId, buckets[1].BucketStart, buckets[1].Count));
        Assert.Equal("2", buckets[2].SensorId);
    }

    [Fact]
    public async Task DeleteOlderThan_RemovesOnlyOldPredictions_AtMostTheGivenRows()
    {
        var old = Enumerable.Range(0, 5).Select(i => Row(predictedAt: T0.AddDays(-8), request: $"old{i}"));
        await _store.WriteAsync([Chunk([.. old, Row(predictedAt: T0, request: "recent")])], CancellationToken.None);

        Assert.Equal(3, await _store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(2, await _store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(0, await _store.DeleteOlderThanAsync(T0.AddDays(-7), 3, CancellationToken.None));
        Assert.Equal(["recent"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task Reopened_TheFileKeepsItsRows_AndItsSchemaIsNotAppliedTwice()
    {
        await _store.WriteAsync([Chunk(Row(request: "before restart"))], CancellationToken.None);
        _store.Dispose();

        using var reopened = new SqliteResultsStore(_folder.File);
        reopened.Initialize();
        await reopened.WriteAsync([Chunk(Row(request: "after restart"))], CancellationToken.None);

        var rows = await reopened.QueryAsync(new PredictionQuery(null, null, null, null, false, 10, null), CancellationToken.None);
        Assert.Equal(["after restart", "before restart"], rows.Select(p => p.Record.RequestId));
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

    [Fact]
    public async Task DeleteDeliveredNotifications_RemovesOnlyThoseDeliveredBeforeTheCutoff()
    {
        var alert = new AlertView(1, "tool-1", "s1", "sensor-anomaly", AlertSeverity.Warning, AlertState.Firing, T0, null, null, 0.9f, ["s1"], []);
        await _store.SaveAlertAsync(new AlertChange(alert, new AlertEvent(T0, "fired")), ["old", "undelivered"], CancellationToken.None);
        await _store.SaveAlertAsync(new AlertChange(alert, new AlertEvent(T0, "acknowledged")), ["recent"], CancellationToken.None);
        await _store.DeliveredAsync(Assert.Single(await _store.PendingAsync("old", 10, CancellationToken.None)), T0.AddDays(-8), CancellationToken.None);
        await _store.DeliveredAsync(Assert.Single(await _store.PendingAsync("recent", 10, CancellationToken.None)), T0, CancellationToken.None);

        Assert.Equal(1, await _store.DeleteDeliveredNotificationsAsync(T0.AddDays(-7), CancellationToken.None));
        Assert.Equal(0, await _store.DeleteDeliveredNotificationsAsync(T0.AddDays(-7), CancellationToken.None));
        Assert.Single(await _store.PendingAsync("undelivered", 10, CancellationToken.None));
    }

    [Fact]
    public async Task WaferVerdicts_AreWrittenBesideSensorRows_AndRetentionTakesTheOldOnes()
    {
        WaferRecord Wafer(DateTimeOffset at, string hash) =>
            new(at, "http", "wafer-defect", 1, "center", true, 0.97f, "{\"none\":0.03,\"center\":0.97}", hash, 12.5, Inference.Scheduling.LatencyClass.DefectDetection, "0HN:1");
        var wafers = new[] { Wafer(T0.AddDays(-8), "old"), Wafer(T0, "recent") };
        await _store.WriteAsync([Chunk(Row()), new RecordChunk(wafers, wafers.Length)], CancellationToken.None);

        Assert.Equal(2, Count("SELECT count(*) FROM wafer_predictions"));
        Assert.Equal(1, Count("SELECT count(*) FROM wafer_predictions WHERE image_sha256 = 'recent' AND defect_type = 'center' AND confidence > 0.96"));
        Assert.Equal(1, await _store.DeleteOlderThanAsync(T0.AddDays(-7), 10, CancellationToken.None));
        Assert.Equal(0, Count("SELECT count(*) FROM wafer_predictions WHERE image_sha256 = 'old'"));
        Assert.Single(await Query());
    }

    [Fact]
    public async Task WaferPages_WalkEveryVerdictOnce_DefectsOnlyFilters()
    {
        var wafers = Enumerable.Range(0, 5).Select(i => new WaferRecord(
            T0, "http", "wafer-defect", 1, i % 2 == 0 ? "center" : "none", i % 2 == 0, 0.9f, "{}", $"hash{i}", 3.5, Inference.Scheduling.LatencyClass.DefectDetection, $"r{i}")).ToArray();
        await _store.WriteAsync([new RecordChunk(wafers, wafers.Length)], CancellationToken.None);

        var seen = new List<string>();
        PageCursor? after = null;
        while (await _store.QueryWafersAsync(new WaferQuery(null, null, false, 2, after), CancellationToken.None) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(w => w.Record.ImageSha256));
            after = new PageCursor(UnixMicroseconds.From(page[^1].Record.PredictedAt), page[^1].Id);
        }

        Assert.Equal(["hash4", "hash3", "hash2", "hash1", "hash0"], seen);
        var defects = await _store.QueryWafersAsync(new WaferQuery(T0, T0.AddSeconds(1), true, 10, null), CancellationToken.None);
        Assert.Equal(["hash4", "hash2", "hash0"], defects.Select(w => w.Record.ImageSha256));
    }

    private long Count(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_folder.File};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
