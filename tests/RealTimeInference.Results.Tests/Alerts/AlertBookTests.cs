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

    private AlertBook Book(int maxTracked = 100, int floodThreshold = 3, List<string>? groupBy = null, int maxTimelineSteps = 100) =>
        new(
            Options.Create(new AlertOptions { MaxTrackedSensors = maxTracked, FloodThreshold = floodThreshold, GroupBy = groupBy ?? ["tool_id", "chamber_id"], MaxTimelineSteps = maxTimelineSteps }),
            new AlertMetrics(_meters));

    /// <summary>One prediction per character: A anomalous (score 0.9), n normal (0.1).</summary>
    private void Feed(
        AlertBook book, string pattern, string tool = "t1", string sensor = "s1", LatencyClass latencyClass = LatencyClass.ProcessControl, string? chamber = null)
    {
        foreach (var c in pattern)
        {
            _now = _now.AddSeconds(1);
            book.Observe(tool, chamber, sensor, "sensor-anomaly", c == 'A' ? 0.9f : 0.1f, c == 'A', latencyClass, _now);
        }
    }

    /// <summary>One episode: three anomalies, then ten normal predictions.</summary>
    private void Episode(AlertBook book, string tool = "t1", string? chamber = "A", string sensor = "s1")
    {
        Feed(book, "AAA", tool, sensor, chamber: chamber);
        Feed(book, new string('n', 10), tool, sensor, chamber: chamber);
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
    public void OneAlertPerChamberEpisode_EverySensorJoinsIt_AndItResolvesWhenTheLastIsNormal()
    {
        var book = Book();

        foreach (var sensor in new[] { "rf_power", "chuck_temp", "he_flow" })
        {
            Feed(book, "AAA", sensor: sensor, chamber: "A");
        }

        Feed(book, "AAA", sensor: "rf_power", chamber: "B");

        var open = book.List(AlertState.Firing, "t1");
        Assert.Equal(2, open.Count);
        var chamberA = Assert.Single(open, a => a.ChamberId == "A");
        Assert.Equal(["rf_power", "chuck_temp", "he_flow"], chamberA.Sensors);
        Assert.Equal(["chuck_temp: 3 of 5", "he_flow: 3 of 5", "rf_power: 3 of 5"], chamberA.Rules);
        Assert.Equal(["fired", "joined", "joined"], chamberA.Timeline.Select(e => e.Kind));
        // Each change is one notification: the fire and each sensor joining, never a second alert.
        Assert.Equal(4, Drain(book).Count(c => !c.Quiet));

        Feed(book, new string('n', 10), sensor: "rf_power", chamber: "A");
        Feed(book, new string('n', 10), sensor: "chuck_temp", chamber: "A");
        Assert.Equal(["he_flow"], book.Get(chamberA.Id)!.Sensors);
        Feed(book, new string('n', 10), sensor: "he_flow", chamber: "A");
        Assert.Equal(AlertState.Resolved, book.Get(chamberA.Id)!.State);
    }

    [Fact]
    public void GroupedBySensor_EachSensorHasItsOwnAlert()
    {
        var book = Book(groupBy: ["tool_id", "sensor_id"]);

        Feed(book, "AAA", sensor: "s1");
        Feed(book, "AAA", sensor: "s2");

        Assert.Equal(["s2", "s1"], book.List(AlertState.Firing, null).Select(a => a.SensorId));
    }

    [Fact]
    public void PastTheFloodThreshold_FurtherEpisodesFoldIntoOneFloodAlert_QuietlyAndCounted_UntilTheFloodIsOver()
    {
        var book = Book(floodThreshold: 3);
        for (var i = 0; i < 8; i++)
        {
            Episode(book);
        }

        var alerts = book.List(null, "t1");
        Assert.Equal(3, alerts.Count(a => a.Kind == AlertGroups.Anomaly));
        var flood = Assert.Single(alerts, a => a.Kind == AlertGroups.Flood);
        Assert.Equal(5, flood.Folded);
        Assert.True(flood.IsOpen);
        Assert.Equal(5, _meters.Total("folded_total"));
        // Three alerts and the flood alert notify; the folds and their endings are only kept.
        var changes = Drain(book);
        Assert.Equal(4, changes.Count(c => c.Event.Kind == "fired" && !c.Quiet));
        Assert.All(changes.Where(c => c.Event.Kind == "folded"), c => Assert.True(c.Quiet));

        // Ten minutes without a fold end the flood; the next episode opens a plain alert again.
        _now = _now.AddMinutes(10);
        Feed(book, "n", chamber: "A");
        Assert.Equal(AlertState.Resolved, book.Get(flood.Id)!.State);
        Episode(book);
        Assert.Equal(AlertGroups.Anomaly, book.List(null, "t1")[0].Kind);
    }

    [Fact]
    public void AShelvedGroup_OpensNoAlertUntilTheShelveExpires_ByItself()
    {
        var book = Book();
        Feed(book, "AAA", chamber: "A");
        var id = Assert.Single(book.List(AlertState.Firing, null)).Id;

        var shelved = book.Shelve(id, TimeSpan.FromMinutes(30), "operator-7", "PM scheduled", _now);
        Assert.Equal(AlertBook.AckOutcome.Acknowledged, shelved.Outcome);
        Assert.Equal(_now.AddMinutes(30), shelved.Alert!.ShelvedUntil);
        Assert.Equal(("shelved", "operator-7", "PM scheduled"), (shelved.Alert.Timeline[^1].Kind, shelved.Alert.Timeline[^1].By, shelved.Alert.Timeline[^1].Note));
        Drain(book);

        // A sensor joining the shelved alert notifies no one; after it resolves, new episodes are suppressed.
        Feed(book, "AAA", sensor: "s2", chamber: "A");
        Assert.All(Drain(book), c => Assert.True(c.Quiet));
        Feed(book, new string('n', 10), chamber: "A");
        Feed(book, new string('n', 10), sensor: "s2", chamber: "A");
        Episode(book);
        Assert.Empty(book.List(AlertState.Firing, null));
        Assert.True(_meters.Total("suppressed_total", ("reason", "shelved")) >= 1);

        _now = _now.AddMinutes(30);
        Feed(book, "AAA", chamber: "A");
        Assert.Single(book.List(AlertState.Firing, null));
        Assert.Equal(AlertBook.AckOutcome.NotFound, book.Shelve(9999, TimeSpan.FromMinutes(1), "x", "y", _now).Outcome);
    }

    [Fact]
    public void AToolNotProductive_OpensNoAlert_BackInProductionItDoes()
    {
        var book = Book();
        book.SetToolState(new ToolStateView("t1", ToolState.Maintenance, _now, "tech-3", "chamber clean"));

        Feed(book, "AAAAA", chamber: "A");
        Feed(book, "AAA", tool: "t2", chamber: "A");

        Assert.Equal(["t2"], book.List(null, null).Select(a => a.ToolId));
        Assert.True(_meters.Total("suppressed_total", ("reason", "tool_state")) >= 1);
        Assert.Equal(ToolState.Maintenance, book.ToolStateOf("t1").State);

        book.SetToolState(new ToolStateView("t1", ToolState.Productive, _now, "tech-3", null));
        Feed(book, "AAA", chamber: "A");
        Assert.Equal(2, book.List(AlertState.Firing, null).Count);
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
        Feed(book, "AAA", tool: "t1", sensor: "emergency", latencyClass: LatencyClass.Emergency);
        book.Observe("t2", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        book.Observe("t2", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        book.Observe("t2", "high", "m", 0.99f, true, LatencyClass.ProcessControl, _now);
        Feed(book, "AAA", tool: "t3", sensor: "plain");

        var bySensor = book.List(null, null).ToDictionary(a => a.SensorId!, a => a.Severity);
        Assert.Equal(AlertSeverity.Critical, bySensor["emergency"]);
        Assert.Equal(AlertSeverity.Critical, bySensor["high"]);
        Assert.Equal(AlertSeverity.Warning, bySensor["plain"]);
    }

    [Fact]
    public void PastMaxTimelineSteps_FoldsAreCountedButNotStepped_AndTheFloodStillResolves()
    {
        var book = Book(floodThreshold: 1, maxTimelineSteps: 3);
        for (var i = 0; i < 20; i++)
        {
            Episode(book);
        }

        var flood = Assert.Single(book.List(null, "t1"), a => a.Kind == AlertGroups.Flood);
        Assert.Equal(19, flood.Folded);
        Assert.Equal(["fired", "folded", "folded"], flood.Timeline.Select(e => e.Kind));
        Assert.Equal(19, _meters.Total("folded_total"));
        Drain(book);

        _now = _now.AddMinutes(10);
        Feed(book, "n", chamber: "A");
        var resolved = book.Get(flood.Id)!;
        Assert.Equal((AlertState.Resolved, 19), (resolved.State, resolved.Folded));
        Assert.Equal("resolved", Assert.Single(Drain(book)).Event.Kind);
    }

    [Fact]
    public void Follows_ASensorFromItsFirstAnomalyUntilItsWindowAndAlertAreClear_AndEverySensorDuringAFlood()
    {
        var book = Book(floodThreshold: 1);

        Assert.False(book.Follows("t1", "A", "s1"));
        Feed(book, "nnn", chamber: "A");
        Assert.False(book.Follows("t1", "A", "s1"));
        Feed(book, "A", chamber: "A");
        Assert.True(book.Follows("t1", "A", "s1"));
        Assert.False(book.Follows("t1", "A", "s2"));
        // The anomaly leaves the window (five) without an alert: nothing left to follow.
        Feed(book, "nnnnn", chamber: "A");
        Assert.False(book.Follows("t1", "A", "s1"));

        // An episode opens an alert, followed until its ten normal points; a second one opens the flood, which follows everything.
        Feed(book, "AAA", chamber: "A");
        Assert.True(book.Follows("t1", "A", "s1"));
        Feed(book, new string('n', 10), chamber: "A");
        Assert.False(book.Follows("t1", "A", "s1"));
        Episode(book);
        Assert.True(book.Follows("t9", "Z", "other"));
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
            Feed(before, "AAA", sensor: "s1", chamber: "A");
            Feed(before, "AAA", sensor: "s2", chamber: "B");
            before.Acknowledge(1, "operator-7", null, _now);
            before.Shelve(1, TimeSpan.FromHours(1), "operator-7", "known", _now);
            Feed(before, new string('n', 10), sensor: "s2", chamber: "B");
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
        Assert.Equal((1L, "s1", "A", "s1: 3 of 5"), (open.Id, open.SensorId, open.ChamberId, Assert.Single(open.Rules)));
        Assert.True(open.ShelvedUntil > _now, "the shelve is kept across the restart");
        Assert.Equal(["fired", "acknowledged", "shelved"], open.Timeline.Select(e => e.Kind));
        Assert.Equal(2L, Assert.Single(after.List(AlertState.Resolved, null)).Id);
        // Still open: its sensor's anomalies do not open a second alert, and its normal run resolves it.
        Feed(after, "AAA", sensor: "s1", chamber: "A");
        Assert.Single(after.List(AlertState.Acknowledged, null));
        Feed(after, new string('n', 10), sensor: "s1", chamber: "A");
        Assert.Equal(AlertState.Resolved, after.Get(1)!.State);
        Feed(after, "AAA", sensor: "s3", chamber: "C");
        Assert.Equal(3L, Assert.Single(after.List(AlertState.Firing, null)).Id);
    }
}
