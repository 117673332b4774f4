using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Tests.Streaming;

public sealed class HeartbeatTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Stream_Idle_SendsAHeartbeatEachIntervalAndNothingBefore()
    {
        var options = Options.Create(new StreamingOptions { HeartbeatInterval = TimeSpan.FromSeconds(15), CoalesceInterval = TimeSpan.Zero });
        using var hub = new PredictionHub(options, new StreamMetrics(_services.GetRequiredService<IMeterFactory>()), _time);
        using var cancel = new CancellationTokenSource();
        var subscription = hub.TrySubscribe(default, lastEventId: null)!;
        await using var events = new PredictionStream(options, _time).ReadAsync(subscription, cancel.Token).GetAsyncEnumerator(cancel.Token);

        // The opening heartbeat.
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(PredictionStream.HeartbeatEventType, events.Current.EventType);

        var next = events.MoveNextAsync().AsTask();
        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(next.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await next);
        Assert.Equal(PredictionStream.HeartbeatEventType, events.Current.EventType);
        Assert.Null(events.Current.EventId);

        next = events.MoveNextAsync().AsTask();
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.True(await next);
        Assert.Equal(PredictionStream.HeartbeatEventType, events.Current.EventType);
        await cancel.CancelAsync();
    }

    public void Dispose() => _services.Dispose();
}
