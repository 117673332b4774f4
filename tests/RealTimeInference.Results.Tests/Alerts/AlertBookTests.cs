using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tests;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Storage;
using RealTimeInference.Results.Tests.Storage;

namespace RealTimeInference.Results.Tests.Alerts;

public sealed class AlertBookTests : IDisposable
{
    private static readonly DateTimeOffset T0 = StoreFolder.T0;
    private readonly TestMeters _meters = new();
    private DateTimeOffset _now = T0;

    public void Dispose() => _meters.Dispose();

    private AlertBook Book(int maxFiringPerTool = 5, int maxTracked = 100) =>
        new(Options.Create(new AlertOptions { MaxFiringPerTool = maxFiringPerTool, MaxTrackedSensors = maxTracked }), new AlertMetrics(_meters));

    /// <summary>One prediction per character: A anomalous (score 0.9), n normal (0.1).</summary>
    private void Feed(AlertBook book, string pattern, string tool = "t1", string sensor = "s1", LatencyClass latencyClass = LatencyClass.ProcessControl)
    {
        foreach (var c in pattern)
        {
            _now = _now.AddSeconds(1);
            book.Observe(tool, sensor, "sensor-anomaly", c == 'A' ? 0.9f : 0.1f, c == 'A', latencyClass, _now);
        }
    }

    private static List<AlertChange> Drain(AlertBook book)
    {
        var changes = new List<AlertChange>();
        while (book.Changes.TryRead(out var change))
        {
            changes.Add(change);
        }

        return changes;
    }

    [Fact]
    public void ThreeAnomaliesOfFive_OpenOneAlert_AndALongEpisodeNeverASecond()
    {
        var book = Book();

        Feed(book, "AnAn");
        Assert.Empty(book.List(null, null));
        Feed(book, "A");
        var alert = Assert.Single(book.List(null, null));
        Feed(book, new string('A', 50));

        Assert.Equal(AlertState.Firing, Assert.Single(book.List(null, null)).State);
        Assert.Equal(["fired"], Drain(book).Select(c => c.Event.Kind));
        Assert.Equal((T0.AddSeconds(5), "t1", "s1", AlertSeverity.Warning), (alert.StartedAt, alert.ToolId, alert.SensorId, alert.Severity));
        Assert.Equal(1, _meters.Total("fired_total", ("severity", "warning")));
    }

    [Fact]
    public void TenNormalInARow_ResolveIt_NineAndAnAnomalyDoNot()
    {
        var book = Book();
        Feed(book, "AAA" + new string('n', 9) + "A");
        Assert.True(Assert.Single(book.List(null, null)).IsOpen);

        Feed(book, new string('n', 10));

        var resolved = Assert.Single(book.List(AlertState.Resolved, null));
        Assert.Equal(_now, resolved.ResolvedAt);
        Assert.Equal(["fired", "resolved"], resolved.Timeline.Select(e => e.Kind));
        Assert.Empty(book.List(AlertState.Firing, null));
        // A new episode after it opens a new alert.
        Feed(book, "AAA");
        Assert.Single(book.List(AlertState.Firing, null));
    }

    [Fact]
    public void PastMaxFiringPerTool_FurtherSensorsJoinOneToolLevelAlert()
    {
        var book = Book(maxFiringPerTool: 2);

        foreach (var sensor in new[] { "s1", "s2", "s3", "s4" })
        {
            Feed(book, "AAA", sensor: sensor);
        }

        var open = book.List(AlertState.Firing, "t1");
        Assert.Equal(3, open.Count);
        var toolAlert = Assert.Single(open, a => a.SensorId is null);
        Assert.Equal(["s3", "s4"], toolAlert.Sensors);
        Assert.Equal(["fired", "joined"], toolAlert.Timeline.Select(e => e.Kind));

        // The tool-level alert resolves when its last sensor is normal again.
        Feed(book, new string('n', 10), sensor: "s3");
        Assert.Equal(["s4"], book.Get(toolAlert.Id)!.Sensors);
        Feed(book, new string('n', 10), sensor: "s4");
        Assert.Equal(AlertState.Resolved, book.Get(toolAlert.Id)!.State);
    }

    [Fact]
    public void Acknowledge_AFiringAlertOnce_NotAnUnknownOrResolvedOne()
    {
        var book = Book();
        Feed(book, "AAA");
        var id = Assert.Single(book.List(null, null)).Id;

        var first = book.Acknowledge(id, "operator-7", "chamber vented", _now);
        var second = book.Acknowledge(id, "operator-8", null, _now);
        var unknown = book.Acknowledge(id + 100, "operator-7", null, _now);
        Feed(book, new string('n', 10));
        var afterResolved = book.Acknowledge(id, "operator-7", null, _now);

        Assert.Equal(AlertBook.AckOutcome.Acknowledged, first.Outcome);
        Assert.Equal(AlertState.Acknowledged, first.Alert!.State);
        Assert.Equal(("operator-7", "chamber vented"), (first.Alert.Timeline[^1].By, first.Alert.Timeline[^1].Note));
        Assert.Equal(AlertBook.AckOutcome.AlreadyAcknowledged, second.Outcome);
        Assert.Equal(AlertBook.AckOutcome.NotFound, unknown.Outcome);
        Assert.Equal(AlertBook.AckOutcome.AlreadyResolved, afterResolved.Outcome);
        Assert.Equal(["fired", "acknowledged", "resolved"], book.Get(id)!.Timeline.Select(e => e.Kind));
    }

    [Fact]
    public void Severity_IsCriticalForEmergencyWorkOrAHighScore()
    {
        var book = Book();
        Feed(book, "AAA", sensor: "emergency", latencyClass: LatencyClass.Emergency);
        book.Observe("t1", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        book.Observe("t1", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        book.Observe("t1", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        Feed(book, "AAA", sensor: "plain");

        var bySensor = book.List(null, null).ToDictionary(a => a.SensorId!, a => a.Severity);
        Assert.Equal(AlertSeverity.Critical, bySensor["emergency"]);
        Assert.Equal(AlertSeverity.Critical, bySensor["high"]);
        Assert.Equal(AlertSeverity.Warning, bySensor["plain"]);
    }

    [Fact]
    public void NormalSensors_CostNoMemory_AndPastTheCapAnomaliesAreCounted()
    {
        var book = Book(maxTracked: 1);
        for (var i = 0; i < 1000; i++)
        {
            Feed(book, "n", sensor: $"quiet-{i}");
        }

        Feed(book, "A", sensor: "first");
        Feed(book, "AAA", sensor: "second");

        Assert.Equal(3, _meters.Total("untracked_total"));
        Assert.Empty(book.List(null, null));
    }

    [Fact]
    public async Task Restored_AfterARestart_AnOpenAlertIsStillOpen_AndIdsGoOn()
    {
        using var folder = new StoreFolder();
        using (var store = new SqliteResultsStore(folder.File))
        {
            store.Initialize();
            var before = Book();
            Feed(before, "AAA", sensor: "s1");
            Feed(before, "AAA", sensor: "s2");
            before.Acknowledge(1, "operator-7", null, _now);
            Feed(before, new string('n', 10), sensor: "s2");
            foreach (var change in Drain(before))
            {
                await store.SaveAlertAsync(change, [], CancellationToken.None);
            }
        }

        using var reopened = new SqliteResultsStore(folder.File);
        reopened.Initialize();
        var (alerts, lastId) = await reopened.LoadAlertsAsync(10, CancellationToken.None);
        var after = Book();
        after.Restore(alerts, lastId);

        var open = Assert.Single(after.List(AlertState.Acknowledged, null));
        Assert.Equal((1L, "s1"), (open.Id, open.SensorId));
        Assert.Equal(["fired", "acknowledged"], open.Timeline.Select(e => e.Kind));
        Assert.Equal(2L, Assert.Single(after.List(AlertState.Resolved, null)).Id);
        // Still open: its sensor's anomalies do not open a second alert, and its normal run resolves it.
        Feed(after, "AAA", sensor: "s1");
        Assert.Single(after.List(AlertState.Acknowledged, null));
        Feed(after, new string('n', 10), sensor: "s1");
        Assert.Equal(AlertState.Resolved, after.Get(1)!.State);
        Feed(after, "AAA", sensor: "s3");
        Assert.Equal(3L, Assert.Single(after.List(AlertState.Firing, null)).Id);
    }
}
