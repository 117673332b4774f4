using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tests;
using RealTimeInference.Inference.Tests.Batching;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Results.Notifications;
using RealTimeInference.Results.Storage;
using RealTimeInference.Results.Tests.Storage;

namespace RealTimeInference.Results.Tests.Notifications;

/// <summary>Notifications go through the store's outbox: a receiver that is down gets every one, in order, once it is back.</summary>
public sealed class AlertNotifierTests : IAsyncLifetime
{
    private const string Secret = "webhook-secret";
    private readonly StoreFolder _folder = new();
    private readonly TestMeters _meters = new();
    private readonly TimerSignallingTimeProvider _time = new();
    private readonly WebhookReceiver _receiver = new();
    private readonly SqliteResultsStore _store;
    private readonly AlertBook _book;
    private readonly AlertKeeper _keeper;
    private readonly AlertNotifier _notifier;

    public AlertNotifierTests()
    {
        _time.SetUtcNow(StoreFolder.T0);
        _store = new SqliteResultsStore(_folder.File);
        _store.Initialize();
        var alerts = Options.Create(new AlertOptions());
        var notifications = Options.Create(new NotificationOptions());
        notifications.Value.Webhooks.Add(new WebhookOptions { Url = _receiver.Url, Secret = Secret });
        var doorbell = new Doorbell();
        var alertMetrics = new AlertMetrics(_meters);
        _book = new AlertBook(alerts, alertMetrics);
        var choice = new ResultsStoreChoice(_store);
        var notificationMetrics = new NotificationMetrics(_meters);
        _keeper = new AlertKeeper(_book, choice, new MemoryOutbox(notificationMetrics), doorbell, new AlertFeed(alertMetrics), alerts, notifications, _time, NullLogger<AlertKeeper>.Instance);
        _notifier = new AlertNotifier(_store, doorbell, _book, notifications, notificationMetrics, _time, NullLogger<AlertNotifier>.Instance);
    }

    public async Task InitializeAsync()
    {
        await _keeper.StartAsync(CancellationToken.None);
        await _notifier.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _notifier.StopAsync(CancellationToken.None);
        await _keeper.StopAsync(CancellationToken.None);
        _notifier.Dispose();
        _keeper.Dispose();
        _receiver.Dispose();
        _store.Dispose();
        _meters.Dispose();
        _folder.Dispose();
    }

    private void Feed(string pattern)
    {
        foreach (var c in pattern)
        {
            _book.Observe("tool-3", "s1", "sensor-anomaly", c == 'A' ? 0.9f : 0.1f, c == 'A', LatencyClass.ProcessControl, _time.GetUtcNow());
        }
    }

    [Fact]
    public async Task ReceiverDownForAMinute_GetsEveryNotificationOnce_InOrder_WhenItIsBack()
    {
        using var outcomes = new MetricCollector<long>(_meters, NotificationMetrics.MeterName, "notifications_total");
        var backAt = StoreFolder.T0.AddSeconds(60);
        _receiver.IsDown = () => _time.GetUtcNow() < backAt;
        Feed("AAA");
        Assert.Equal(AlertBook.AckOutcome.Acknowledged, _book.Acknowledge(1, "operator-7", "looking", _time.GetUtcNow()).Outcome);
        Feed(new string('n', 10));

        // Each refused try waits its backoff on the fake clock; move it on until the receiver is back.
        while (_time.GetUtcNow() < backAt)
        {
            await _time.WaitForTimerAsync();
            _time.Advance(TimeSpan.FromSeconds(30));
        }

        await _receiver.WaitForAsync(3);
        // The receiver answered; the notifier then marks and counts each delivery.
        await outcomes.WaitForMeasurementsAsync(_receiver.Refused + 3, TimeSpan.FromSeconds(10));

        var taken = _receiver.Taken.ToList();
        Assert.Equal(["fired", "acknowledged", "resolved"], taken.Select(t => JsonDocument.Parse(t.Body).RootElement.GetProperty("event").GetString()));
        Assert.Equal(3, taken.Select(t => t.Id).Distinct().Count());
        Assert.All(taken, t => Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(t.Body))), t.Signature));
        var resolved = JsonDocument.Parse(taken[2].Body).RootElement;
        Assert.Equal(("resolved", "tool-3", "s1", 1L), (resolved.GetProperty("state").GetString(), resolved.GetProperty("tool_id").GetString(), resolved.GetProperty("sensor_id").GetString(), resolved.GetProperty("alert_id").GetInt64()));
        Assert.Contains("tool-3", resolved.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.True(_receiver.Refused >= 2);
        Assert.Equal(3, _meters.Total("notifications_total", ("sink", "webhook-0"), ("result", "delivered")));
        Assert.Equal(_receiver.Refused, _meters.Total("notifications_total", ("sink", "webhook-0"), ("result", "failed")));
        Assert.Empty(await _store.PendingAsync("webhook-0", 10, CancellationToken.None));
    }

    [Fact]
    public async Task Undelivered_NotificationsOutliveARestart_InTheStore()
    {
        _receiver.IsDown = () => true;
        Feed("AAA");
        await _time.WaitForTimerAsync();

        // Another server on the same file (as after a restart) finds the notification still owed.
        using var reopened = new SqliteResultsStore(_folder.File);
        reopened.Initialize();
        var pending = Assert.Single(await reopened.PendingAsync("webhook-0", 10, CancellationToken.None));
        Assert.Equal(("fired", 1L, AlertState.Firing), (pending.Event.Kind, pending.Alert.Id, pending.Alert.State));
    }
}
