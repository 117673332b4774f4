using RealTimeInference.Inference.Tests;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;
using static RealTimeInference.Results.Tests.Storage.StoreFolder;

namespace RealTimeInference.Results.Tests.Notifications;

public sealed class MemoryOutboxTests : IDisposable
{
    private readonly TestMeters _meters = new();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task ASinkThatStaysAway_KeepsAtMostTheCapacity_ItsOldestDroppedAndCounted_OtherSinksUntouched()
    {
        var outbox = new MemoryOutbox(new NotificationMetrics(_meters));
        var alert = new AlertView(0, "tool-1", "s1", "sensor-anomaly", AlertSeverity.Warning, AlertState.Firing, T0, null, null, 0.9f, ["s1"], []);
        for (var id = 1; id <= MemoryOutbox.Capacity + 5; id++)
        {
            outbox.Add(new AlertChange(alert with { Id = id }, new AlertEvent(T0, "fired")), ["away"]);
        }

        outbox.Add(new AlertChange(alert with { Id = 1 }, new AlertEvent(T0, "fired")), ["here"]);

        var pending = await outbox.PendingAsync("away", MemoryOutbox.Capacity * 2, CancellationToken.None);
        Assert.Equal(MemoryOutbox.Capacity, pending.Count);
        Assert.Equal(6, pending[0].Alert.Id);
        Assert.Equal(5, _meters.Total("notifications_total", ("sink", "away"), ("result", "dropped")));
        Assert.Single(await outbox.PendingAsync("here", 10, CancellationToken.None));
    }
}
