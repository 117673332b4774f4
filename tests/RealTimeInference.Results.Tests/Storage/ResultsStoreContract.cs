using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Storage;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Storage;

/// <summary>What every results store does alike; each store's test class runs these against the real thing.</summary>
public abstract class ResultsStoreContract : IAsyncLifetime
{
    protected IResultsStore Store { get; set; } = null!;

    /// <summary>A store on this test's database, not yet initialized; the same database each time.</summary>
    protected abstract IResultsStore Open();

    protected abstract Task<long> CountAsync(string sql);

    /// <summary>The table that keeps a broker message's keys (<c>message_id</c>, <c>message_seq</c>) of the rows stored.</summary>
    protected abstract string MessageKeys { get; }

    public virtual Task InitializeAsync()
    {
        Store = Open();
        Store.Initialize();
        return Task.CompletedTask;
    }

    public virtual Task DisposeAsync()
    {
        Store.Dispose();
        return Task.CompletedTask;
    }

    protected Task<IReadOnlyList<StoredPrediction>> Query(
        string? tool = null, string? sensor = null, DateTimeOffset? from = null, DateTimeOffset? to = null, bool anomaliesOnly = false, int limit = 100, PageCursor? after = null) =>
        Store.QueryAsync(new PredictionQuery(tool, sensor, from, to, anomaliesOnly, limit, after), CancellationToken.None);

    /// <summary>A decision recommended and not yet applied: every field that may be null, null.</summary>
    protected static OptimizerDecision Decision(string id, string tool = "tool-1", DateTimeOffset? decidedAt = null) =>
        new(id, tool, decidedAt ?? T0, "advisory", "recommended", "gain above the threshold", 350, 1013, 100, 355.5, 1010.25, 102.125,
            null, null, null, null, null, null, null);

    protected Task<IReadOnlyList<OptimizerDecision>> Decisions(string? tool = null, int limit = 100) =>
        Store.QueryDecisionsAsync(new DecisionQuery(tool, limit), CancellationToken.None);

    [Fact]
    public async Task SaveDecisions_ThenQuery_ReturnsEveryFieldAsSaved_NullsIncluded()
    {
        var recommended = Decision("0197a000-0000-7000-8000-000000000001", decidedAt: T0);
        var applied = new OptimizerDecision(
            "0197a000-0000-7000-8000-000000000002", "tool-1", T0.AddSeconds(30), "closed-loop", "applied", "predicted gain 0.031",
            350.125, 1013.5, 100.25, 352.75, 1009.0625, 98.5, 0.912345678901, 0.943210987654, 0.030865308753, "optimizer", T0.AddSeconds(31), 4_294_967_301, 0.9375);

        await Store.SaveDecisionsAsync([recommended, applied], CancellationToken.None);

        Assert.Equal([applied, recommended], await Decisions());
    }

    [Fact]
    public async Task SaveDecisions_SameIdTwice_KeepsOneRowWithTheNewValues()
    {
        var recommended = Decision("d1");
        await Store.SaveDecisionsAsync([recommended], CancellationToken.None);
        var measured = recommended with
        {
            Mode = "closed-loop",
            Action = "applied",
            Reason = "applied by the operator",
            TemperatureAfter = 360,
            PredictedCurrent = 0.9,
            PredictedBest = 0.95,
            PredictedGain = 0.05,
            AppliedBy = "operator-7",
            AppliedAt = T0.AddMinutes(1),
            EffectiveLot = 42,
            MeasuredYield = 0.948,
        };

        await Store.SaveDecisionsAsync([measured], CancellationToken.None);

        Assert.Equal(measured, Assert.Single(await Decisions()));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM optimizer_decisions"));
    }

    [Fact]
    public async Task SaveDecisions_WhenOneCannotBeKept_KeepsNoneOfThem()
    {
        await Store.SaveDecisionsAsync([Decision("kept")], CancellationToken.None);
        // The last has no tool, which the store cannot keep: the two before it are not kept either.
        var noTool = Decision("bad") with { ToolId = null! };

        await Assert.ThrowsAnyAsync<Exception>(() => Store.SaveDecisionsAsync(
            [Decision("kept") with { Action = "skipped" }, Decision("new"), noTool], CancellationToken.None));

        Assert.Equal(Decision("kept"), Assert.Single(await Decisions()));
    }

    [Fact]
    public async Task QueryDecisions_FiltersByTool_NewestFirst_UpToTheLimit()
    {
        await Store.SaveDecisionsAsync(
            [
                Decision("a-old", "a", T0),
                Decision("b-new", "b", T0.AddMinutes(5)),
                Decision("a-mid-1", "a", T0.AddMinutes(1)),
                Decision("a-mid-2", "a", T0.AddMinutes(1)),
                Decision("a-new", "a", T0.AddMinutes(2)),
            ],
            CancellationToken.None);

        // Within a time, the higher id first.
        Assert.Equal(["a-new", "a-mid-2", "a-mid-1", "a-old"], (await Decisions("a")).Select(d => d.Id));
        Assert.Equal(["a-new", "a-mid-2"], (await Decisions("a", limit: 2)).Select(d => d.Id));
        Assert.Equal(["b-new", "a-new"], (await Decisions(limit: 2)).Select(d => d.Id));
        Assert.Empty(await Decisions("c"));
    }

    [Fact]
    public async Task DeleteOlderThan_RemovesDecisionsDecidedBeforeTheCutoff_AtMostTheGivenRows_KeepsNewerOnes()
    {
        var cutoff = T0.AddDays(-7);
        await Store.SaveDecisionsAsync(
            [
                Decision("nine days", decidedAt: T0.AddDays(-9)),
                Decision("eight days", decidedAt: T0.AddDays(-8)),
                Decision("just after the cutoff", decidedAt: cutoff.AddSeconds(1)),
                Decision("today", decidedAt: T0),
            ],
            CancellationToken.None);

        Assert.Equal(1, await Store.DeleteOlderThanAsync(cutoff, 1, CancellationToken.None));
        Assert.Equal(1, await Store.DeleteOlderThanAsync(cutoff, 1, CancellationToken.None));
        Assert.Equal(0, await Store.DeleteOlderThanAsync(cutoff, 1, CancellationToken.None));

        Assert.Equal(["today", "just after the cutoff"], (await Decisions()).Select(d => d.Id));
    }

    [Fact]
    public async Task Write_ThenQuery_ReturnsEveryFieldAsWritten()
    {
        var row = Row(tool: "tool-3", sensor: "s9", score: 0.93f, anomaly: true, request: "0HN:1") with { LatencyMs = 2.25, Temperature = 412.5f };
        await Store.WriteAsync([Chunk(row)], CancellationToken.None);

        var stored = Assert.Single(await Query());

        Assert.Equal(row, stored.Record);
    }

    [Fact]
    public async Task Query_FiltersByToolSensorTimeAndAnomaly_NewestFirst()
    {
        await Store.WriteAsync(
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
        await Store.WriteAsync([Chunk(rows[..12]), Chunk(rows[12..])], CancellationToken.None);

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
        await Store.WriteAsync(
            [Chunk(
                Row("a", "1", T0.AddSeconds(10), score: 0.2f),
                Row("a", "1", T0.AddSeconds(50), score: 0.8f, anomaly: true),
                Row("a", "1", T0.AddSeconds(70), score: 0.4f),
                Row("a", "2", T0.AddSeconds(5), score: 0.5f),
                Row("b", "1", T0.AddSeconds(5), score: 0.5f))],
            CancellationToken.None);

        var buckets = await Store.SummarizeAsync(new SummaryQuery("a", T0, T0.AddMinutes(5), TimeSpan.FromMinutes(1)), CancellationToken.None);

        Assert.Equal(3, buckets.Count);
        var first = buckets[0];
        Assert.Equal(("a", "1", T0, 2L, 1L), (first.Group[0], first.Group[1], first.BucketStart, first.Count, first.Anomalies));
        Assert.Equal(0.5, first.MeanScore, precision: 5);
        Assert.Equal(0.8, first.MaxScore, precision: 5);
        Assert.Equal(("1", T0.AddMinutes(1), 1L), (buckets[1].Group[1], buckets[1].BucketStart, buckets[1].Count));
        Assert.Equal("2", buckets[2].Group[1]);

        // However many tools and sensors are stored, an answer holds at most its limit, the first in order.
        var limited = await Store.SummarizeAsync(new SummaryQuery("a", T0, T0.AddMinutes(5), TimeSpan.FromMinutes(1), Limit: 2), CancellationToken.None);
        Assert.Equal([.. buckets.Take(2).Select(Flat)], limited.Select(Flat));
    }

    private static string Flat(SummaryBucket b) => $"{string.Join("/", b.Group)} {b.BucketStart:O} {b.Count} {b.Anomalies} {b.MeanScore} {b.MaxScore}";

    [Fact]
    public async Task ReadingsWithContext_KeepTheirContextAndValues_FilterByAnyField_AndGroupByAny()
    {
        static PredictionRecord WithContext(string chamber, string step, string wafer, float score, bool anomaly = false) =>
            Row(tool: "etch-01", sensor: null, score: score, anomaly: anomaly) with
            {
                Temperature = null,
                Pressure = null,
                FlowRate = null,
                Context = new ReadingContext("etch-01", chamber, "poly-etch", step, "lot-7", wafer),
                Values = "{\"rf_power\":1500.5,\"chuck_temp\":45.25}",
            };
        await Store.WriteAsync(
            [Chunk(
                WithContext("A", "main-etch", "w01", 0.9f, anomaly: true),
                WithContext("A", "over-etch", "w01", 0.2f),
                WithContext("B", "main-etch", "w02", 0.4f),
                Row(tool: "etch-01", sensor: "s1", score: 0.3f))],
            CancellationToken.None);

        var chamberA = await Store.QueryAsync(
            new PredictionQuery("etch-01", null, null, null, false, 100, null) { Context = [new("chamber_id", "A")] }, CancellationToken.None);
        Assert.Equal(2, chamberA.Count);
        var first = chamberA.Single(p => p.Record.Context!.Step == "main-etch").Record;
        Assert.Equal(new ReadingContext("etch-01", "A", "poly-etch", "main-etch", "lot-7", "w01"), first.Context);
        Assert.Null(first.Temperature);
        Assert.Contains("\"rf_power\":1500.5", first.Values!.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var step = await Store.QueryAsync(
            new PredictionQuery(null, null, null, null, false, 100, null) { Context = [new("step", "main-etch"), new("wafer_id", "w02")] }, CancellationToken.None);
        Assert.Equal("B", Assert.Single(step).Record.Context!.ChamberId);

        // The seed's reading keeps its three values and no context.
        var seed = Assert.Single(await Query(sensor: "s1")).Record;
        Assert.Equal((350f, (ReadingContext?)null, (string?)null), (seed.Temperature!.Value, seed.Context, seed.Values));

        var byChamberAndStep = await Store.SummarizeAsync(
            new SummaryQuery("etch-01", T0, T0.AddMinutes(1), TimeSpan.FromMinutes(1)) { GroupBy = ["chamber_id", "step"] }, CancellationToken.None);
        Assert.Equal(
            ["/ 1 0", "A/main-etch 1 1", "A/over-etch 1 0", "B/main-etch 1 0"],
            byChamberAndStep.Select(b => $"{string.Join("/", b.Group)} {b.Count} {b.Anomalies}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reopened_TheStoreKeepsItsRows_AndItsSchemaIsNotAppliedTwice()
    {
        await Store.WriteAsync([Chunk(Row(request: "before restart"))], CancellationToken.None);
        Store.Dispose();

        Store = Open();
        Store.Initialize();
        await Store.WriteAsync([Chunk(Row(request: "after restart"))], CancellationToken.None);

        Assert.Equal(["after restart", "before restart"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task Write_SameMessageTwice_StoresItsRowsOnce_AndCountsTheDuplicates()
    {
        var rows = new[] { Row(request: "m:0"), Row(request: "m:1"), Row(request: "m:2") };

        Assert.Equal(0, await Store.WriteAsync([MessageChunk("m-1", rows)], CancellationToken.None));
        Assert.Equal(3, await Store.WriteAsync([MessageChunk("m-1", rows)], CancellationToken.None));

        Assert.Equal(["m:2", "m:1", "m:0"], (await Query()).Select(p => p.Record.RequestId));
        // Each row under its key: the message and its index in it.
        Assert.Equal(3, await CountAsync($"SELECT count(*) FROM {MessageKeys} WHERE message_id = 'm-1' AND message_seq BETWEEN 0 AND 2"));
    }

    [Fact]
    public async Task Write_SameMessageTwiceInOneWrite_StoresItsRowsOnce_AndCountsTheDuplicates()
    {
        var rows = new[] { Row(request: "m:0"), Row(request: "m:1") };

        Assert.Equal(2, await Store.WriteAsync([MessageChunk("m-1", rows), MessageChunk("m-1", rows)], CancellationToken.None));

        Assert.Equal(["m:1", "m:0"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task Write_TheSameIndexesOfAnotherMessage_AreStored()
    {
        Assert.Equal(0, await Store.WriteAsync([MessageChunk("m-1", Row(request: "a:0"), Row(request: "a:1"))], CancellationToken.None));
        Assert.Equal(0, await Store.WriteAsync([MessageChunk("m-2", Row(request: "b:0"), Row(request: "b:1"))], CancellationToken.None));

        Assert.Equal(4, (await Query()).Count);
    }

    [Fact]
    public async Task Write_RowsWithoutAMessageId_AreAllStored_IdenticalOnesToo()
    {
        var row = Row(request: "same");

        Assert.Equal(0, await Store.WriteAsync([Chunk(row, row)], CancellationToken.None));
        Assert.Equal(0, await Store.WriteAsync([Chunk(row, row)], CancellationToken.None));

        Assert.Equal(4, (await Query()).Count);
        Assert.Equal(0, await CountAsync($"SELECT count(*) FROM {MessageKeys} WHERE message_id IS NOT NULL OR message_seq IS NOT NULL"));
    }

    [Fact]
    public async Task Write_AMessageWhoseFirstReadingsAreStored_StoresOnlyTheOthers()
    {
        var rows = Enumerable.Range(0, 4).Select(i => Row(request: $"r{i}")).ToArray();
        await Store.WriteAsync([MessageChunk("m-1", rows[..2])], CancellationToken.None);

        Assert.Equal(2, await Store.WriteAsync([MessageChunk("m-1", rows)], CancellationToken.None));

        Assert.Equal(["r3", "r2", "r1", "r0"], (await Query()).Select(p => p.Record.RequestId));
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM {MessageKeys} WHERE message_id = 'm-1' AND message_seq = 3"));
    }

    [Fact]
    public async Task Write_ThatFails_KeepsNoneOfItsMessagesKeys_SoTheRedeliveryIsStored()
    {
        var good = Row(request: "good");

        // The second row has no source, which the store cannot keep: the message's first row is not kept either, nor its key.
        await Assert.ThrowsAnyAsync<Exception>(() => Store.WriteAsync([MessageChunk("m-1", good, good with { Source = null! })], CancellationToken.None));

        Assert.Equal(0, await Store.WriteAsync([MessageChunk("m-1", good, good with { RequestId = "also good" })], CancellationToken.None));
        Assert.Equal(["also good", "good"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task Retention_ForgetsAMessageWithItsRows_ARedeliveryAfterThatIsStoredAgain()
    {
        var old = Row(predictedAt: T0.AddDays(-9), request: "old");
        var recent = Row(request: "recent");
        await Store.WriteAsync([MessageChunk("m-old", old), MessageChunk("m-recent", recent)], CancellationToken.None);

        await Store.DeleteOlderThanAsync(T0.AddDays(-7), 10, CancellationToken.None);

        Assert.Equal(1, await Store.WriteAsync([MessageChunk("m-recent", recent)], CancellationToken.None));
        Assert.Equal(0, await Store.WriteAsync([MessageChunk("m-old", old)], CancellationToken.None));
        // Both read at T0: the old one, written again last, first.
        Assert.Equal(["old", "recent"], (await Query()).Select(p => p.Record.RequestId));
    }

    [Fact]
    public async Task ToolStates_AreKept_TheLastOnePerTool()
    {
        await Store.SaveToolStateAsync(new ToolStateView("etch-01", ToolState.Maintenance, T0, "tech-3", "wet clean"), CancellationToken.None);
        await Store.SaveToolStateAsync(new ToolStateView("etch-02", ToolState.Engineering, T0, "eng-1", null), CancellationToken.None);
        await Store.SaveToolStateAsync(new ToolStateView("etch-01", ToolState.Productive, T0.AddHours(2), "tech-3", null), CancellationToken.None);

        var states = await Store.LoadToolStatesAsync(CancellationToken.None);

        Assert.Equal(
            [new ToolStateView("etch-01", ToolState.Productive, T0.AddHours(2), "tech-3", null), new ToolStateView("etch-02", ToolState.Engineering, T0, "eng-1", null)],
            states.OrderBy(s => s.ToolId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Alerts_AreKeptWithTheirTimelines_OpenOnesAndTheRecentResolvedLoadBack()
    {
        var fired = new AlertView(1, "tool-1", "s1", "sensor-anomaly", AlertSeverity.Critical, AlertState.Firing, T0, null, null, 0.97f, ["s1"], [])
        {
            ChamberId = "A",
            Rules = ["s1: 3 of 5", "s1: WE1"],
            ShelvedUntil = T0.AddHours(1),
        };
        var acknowledged = fired with { State = AlertState.Acknowledged, AcknowledgedAt = T0.AddSeconds(5) };
        var other = new AlertView(2, "tool-2", null, "sensor-anomaly", AlertSeverity.Warning, AlertState.Firing, T0, null, null, 0.7f, ["a", "b"], []);
        var resolved = other with { State = AlertState.Resolved, ResolvedAt = T0.AddMinutes(1), MaxScore = 0.8f };
        await Store.SaveAlertAsync(new AlertChange(fired, new AlertEvent(T0, "fired", "s1", 0.97f)), ["webhook-0"], CancellationToken.None);
        await Store.SaveAlertAsync(new AlertChange(other, new AlertEvent(T0, "fired", "a", 0.7f)), [], CancellationToken.None);
        await Store.SaveAlertAsync(new AlertChange(acknowledged, new AlertEvent(T0.AddSeconds(5), "acknowledged", By: "operator-7", Note: "on it")), ["webhook-0"], CancellationToken.None);
        await Store.SaveAlertAsync(new AlertChange(resolved, new AlertEvent(T0.AddMinutes(1), "resolved", "b")), [], CancellationToken.None);

        var (alerts, lastId) = await Store.LoadAlertsAsync(10, CancellationToken.None);

        Assert.Equal(2, lastId);
        Assert.Equal([1L, 2L], alerts.Select(a => a.Id));
        Assert.Equal(acknowledged with { Sensors = alerts[0].Sensors, Timeline = alerts[0].Timeline, Rules = alerts[0].Rules }, alerts[0]);
        Assert.Equal(["s1"], alerts[0].Sensors);
        Assert.Equal(["s1: 3 of 5", "s1: WE1"], alerts[0].Rules);
        Assert.Equal(["fired", "acknowledged"], alerts[0].Timeline.Select(e => e.Kind));
        Assert.Equal(("operator-7", "on it"), (alerts[0].Timeline[1].By, alerts[0].Timeline[1].Note));
        Assert.Equal((AlertState.Resolved, 0.8f), (alerts[1].State, alerts[1].MaxScore));
        Assert.Equal(["a", "b"], alerts[1].Sensors);
        Assert.DoesNotContain((await Store.LoadAlertsAsync(0, CancellationToken.None)).Alerts, a => a.Id == 2);
        // Each change to each sink, in order, with the alert as it stood then.
        var pending = await Store.PendingAsync("webhook-0", 10, CancellationToken.None);
        Assert.Equal([AlertState.Firing, AlertState.Acknowledged], pending.Select(n => n.Alert.State));
        Assert.Equal("operator-7", pending[1].Event.By);
        await Store.DeliveredAsync(pending[0], T0, CancellationToken.None);
        Assert.Equal("acknowledged", Assert.Single(await Store.PendingAsync("webhook-0", 10, CancellationToken.None)).Event.Kind);
    }

    [Fact]
    public async Task DeleteOldAlerts_RemovesNotificationsDeliveredAndAlertsResolvedBeforeTheCutoff_NothingStillOwedOrOpen()
    {
        var alert = new AlertView(1, "tool-1", "s1", "sensor-anomaly", AlertSeverity.Warning, AlertState.Firing, T0, null, null, 0.9f, ["s1"], []);
        await Store.SaveAlertAsync(new AlertChange(alert, new AlertEvent(T0, "fired")), ["old", "undelivered"], CancellationToken.None);
        await Store.SaveAlertAsync(new AlertChange(alert, new AlertEvent(T0, "acknowledged")), ["recent"], CancellationToken.None);
        await Store.DeliveredAsync(Assert.Single(await Store.PendingAsync("old", 10, CancellationToken.None)), T0.AddDays(-8), CancellationToken.None);
        await Store.DeliveredAsync(Assert.Single(await Store.PendingAsync("recent", 10, CancellationToken.None)), T0, CancellationToken.None);
        var longResolved = alert with { Id = 2, State = AlertState.Resolved, StartedAt = T0.AddDays(-9), ResolvedAt = T0.AddDays(-8) };
        await Store.SaveAlertAsync(new AlertChange(longResolved with { State = AlertState.Firing, ResolvedAt = null }, new AlertEvent(T0.AddDays(-9), "fired")), [], CancellationToken.None);
        await Store.SaveAlertAsync(new AlertChange(longResolved, new AlertEvent(T0.AddDays(-8), "resolved")), [], CancellationToken.None);
        var recentlyResolved = alert with { Id = 3, State = AlertState.Resolved, ResolvedAt = T0 };
        await Store.SaveAlertAsync(new AlertChange(recentlyResolved, new AlertEvent(T0, "resolved")), [], CancellationToken.None);

        // One notification, and one alert with its two steps.
        Assert.Equal(4, await Store.DeleteOldAlertsAsync(T0.AddDays(-7), CancellationToken.None));
        Assert.Equal(0, await Store.DeleteOldAlertsAsync(T0.AddDays(-7), CancellationToken.None));
        Assert.Single(await Store.PendingAsync("undelivered", 10, CancellationToken.None));
        Assert.Equal([1L, 3L], (await Store.LoadAlertsAsync(10, CancellationToken.None)).Alerts.Select(a => a.Id));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM alert_events WHERE alert_id = 1"));
    }

    [Fact]
    public async Task WaferVerdicts_AreWrittenBesideSensorRows_AndRetentionTakesTheOldOnes()
    {
        WaferRecord Wafer(DateTimeOffset at, string hash) =>
            new(at, "http", "wafer-defect", 1, "center", true, 0.97f, "{\"none\":0.03,\"center\":0.97}", hash, 12.5, Inference.Scheduling.LatencyClass.DefectDetection, "0HN:1");
        var wafers = new[] { Wafer(T0.AddDays(-8), "old"), Wafer(T0, "recent") };
        await Store.WriteAsync([Chunk(Row()), new RecordChunk(wafers, wafers.Length, pooled: false)], CancellationToken.None);

        Assert.Equal(2, await CountAsync("SELECT count(*) FROM wafer_predictions"));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM wafer_predictions WHERE image_sha256 = 'recent' AND defect_type = 'center' AND confidence > 0.96"));
        Assert.Equal(1, await Store.DeleteOlderThanAsync(T0.AddDays(-7), 10, CancellationToken.None));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM wafer_predictions WHERE image_sha256 = 'old'"));
        Assert.Single(await Query());
    }

    [Fact]
    public async Task WaferPages_WalkEveryVerdictOnce_DefectsOnlyFilters()
    {
        var wafers = Enumerable.Range(0, 5).Select(i => new WaferRecord(
            T0, "http", "wafer-defect", 1, i % 2 == 0 ? "center" : "none", i % 2 == 0, 0.9f, "{}", $"hash{i}", 3.5, Inference.Scheduling.LatencyClass.DefectDetection, $"r{i}")).ToArray();
        await Store.WriteAsync([new RecordChunk(wafers, wafers.Length, pooled: false)], CancellationToken.None);

        var seen = new List<string>();
        PageCursor? after = null;
        while (await Store.QueryWafersAsync(new WaferQuery(null, null, false, 2, after), CancellationToken.None) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(w => w.Record.ImageSha256));
            after = new PageCursor(UnixMicroseconds.From(page[^1].Record.PredictedAt), page[^1].Id);
        }

        Assert.Equal(["hash4", "hash3", "hash2", "hash1", "hash0"], seen);
        var defects = await Store.QueryWafersAsync(new WaferQuery(T0, T0.AddSeconds(1), true, 10, null), CancellationToken.None);
        Assert.Equal(["hash4", "hash2", "hash0"], defects.Select(w => w.Record.ImageSha256));
    }
}
