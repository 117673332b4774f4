using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Server.Tests.Models;

/// <summary>A private model copy, watched: file changes reload after 200 ms of quiet.</summary>
public sealed class WatchedModelCopyServerFixture : ModelCopyServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Inference:WatchModels", "true"),
        new("Inference:WatchQuietPeriod", "00:00:00.2"),
    ];
}

public sealed class ModelWatchTests(WatchedModelCopyServerFixture server) : IClassFixture<WatchedModelCopyServerFixture>
{
    [Fact]
    public async Task NewVersionFolder_IsPickedUpWithoutACall_CorruptOneKeepsTheOldServing()
    {
        var client = server.CreateClient();
        var repository = server.Services.GetRequiredService<ModelRepository>();
        using var reloads = new MetricCollector<long>(
            server.Services.GetRequiredService<IMeterFactory>(), InferenceMetrics.MeterName, "model_reloads_total");

        // Published the safe way: written beside, then renamed into place.
        Directory.CreateDirectory(server.Model("2.partial"));
        File.Copy(server.Model("1", "model.onnx"), server.Model("2.partial", "model.onnx"));
        Directory.Move(server.Model("2.partial"), server.Model("2"));
        // A slow copy may be seen half-done first: wait through reloads until version 2 serves.
        for (var n = 1; !(repository.TryGet("sensor-anomaly", out var served) && served.Version == 2); n++)
        {
            await reloads.WaitForMeasurementsAsync(n, TimeSpan.FromSeconds(20));
        }

        Assert.All(reloads.GetMeasurementSnapshot(), m => Assert.Equal("ok", m.Tags["result"]));

        Directory.CreateDirectory(server.Model("3"));
        await File.WriteAllBytesAsync(server.Model("3", "model.onnx"), [1, 2, 3, 4, 5]);
        for (var n = reloads.GetMeasurementSnapshot().Count + 1; (string?)reloads.LastMeasurement?.Tags["result"] != "failed"; n++)
        {
            await reloads.WaitForMeasurementsAsync(n, TimeSpan.FromSeconds(20));
        }

        var still = await client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(System.Net.HttpStatusCode.OK, still.StatusCode);
        Assert.True(repository.TryGet("sensor-anomaly", out var kept));
        Assert.Equal(2, kept.Version);
    }
}
