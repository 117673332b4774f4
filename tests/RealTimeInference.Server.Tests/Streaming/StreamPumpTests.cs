using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Tests.Streaming;

public sealed class StreamPumpTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public async Task Pump_WhenADeliveryThrows_CountsItsEventsAsDroppedAndDeliversTheNext()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        var metrics = new StreamMetrics(meters);
        var hub = new PredictionHub(Options.Create(new StreamingOptions { SubscriberBufferSize = 1 }), metrics, TimeProvider.System);
        using var pump = new StreamPump(hub, metrics, NullLogger<StreamPump>.Instance);
        using var subscription = hub.TrySubscribe(default, lastEventId: null)!;
        // A listener that throws once: the full subscriber buffer counts its drop while the pump delivers.
        var thrown = 0;
        var pumpFaults = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "stream_events_dropped_total" && instrument.Meter.Scope == meters)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (Interlocked.Increment(ref thrown) == 1)
            {
                throw new InvalidOperationException("listener fault");
            }

            foreach (var tag in tags)
            {
                if (tag.Key == "reason" && Equals(tag.Value, StreamMetrics.PumpFault))
                {
                    pumpFaults.TrySetResult(value);
                }
            }
        });
        listener.Start();
        await pump.StartAsync(CancellationToken.None);

        // Two events for a one-event buffer: delivering the second drops the first, and the count throws.
        Publish(hub, 1, 2);
        var dropped = await pumpFaults.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Publish(hub, 3);
        var last = await LastEventAsync(subscription, containing: "\"temperature\":3");

        Assert.Equal(2, dropped);
        // The failed delivery spent its ids: none is ever sent twice.
        Assert.StartsWith("id: 3\n", last, StringComparison.Ordinal);
        await pump.StopAsync(CancellationToken.None);
    }

    private void Publish(PredictionHub hub, params float[] temperatures)
    {
        Assert.True(server.Services.GetRequiredService<ModelRepository>().TryGet("sensor-anomaly", out var model));
        using var batch = new SensorBatch(temperatures.Length, DateTimeOffset.UtcNow);
        foreach (var temperature in temperatures)
        {
            batch.Add(new SensorReading(null, null, batch.Received, temperature, 1013, 100));
        }

        hub.Publish(new ScoredBatch(new PredictionOrigin(PredictionSource.Http, "test", 0), LatencyClass.ProcessControl, model, batch, TimeSpan.Zero));
    }

    private static async Task<string> LastEventAsync(Subscription subscription, string containing)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var item = await subscription.Reader.ReadAsync(timeout.Token);
            var frame = System.Text.Encoding.UTF8.GetString(item.Frame);
            if (frame.Contains(containing, StringComparison.Ordinal))
            {
                return frame;
            }
        }
    }

    public void Dispose() => _services.Dispose();
}
