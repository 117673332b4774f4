using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Tests.Models;

namespace RealTimeInference.Server.Tests.Predictions;

/// <summary>
/// The bundled models, with the sensor model holding each batch open 20 ms (model.json
/// max_queue_delay_ms), so concurrent requests surely meet in one run however fast the machine is.
/// </summary>
public sealed class SensorBatchingFixture : ModelCopyServerFixture
{
    public SensorBatchingFixture()
    {
        var manifest = Model("model.json");
        var text = File.ReadAllText(manifest);
        Assert.Contains("\"max_queue_delay_ms\": 0", text, StringComparison.Ordinal);
        File.WriteAllText(manifest, text.Replace("\"max_queue_delay_ms\": 0", "\"max_queue_delay_ms\": 20", StringComparison.Ordinal));
    }
}

public sealed class BatchingUnderConcurrencyTests(SensorBatchingFixture server) : IClassFixture<SensorBatchingFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task Predict_ConcurrentRequests_ShareModelRuns()
    {
        // Scoped to this server's meters, so other test servers in the process do not count.
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var batchRequests = new MetricCollector<int>(meters, InferenceMetrics.MeterName, "batch_requests");

        const int Concurrent = 256;
        var responses = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(i =>
            _client.PostAsJsonAsync("/predict", new { temperature = 340.0 + (i % 20), pressure = 1013.0, flow_rate = 100.0 })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var runs = batchRequests.GetMeasurementSnapshot();
        Assert.Equal(Concurrent, runs.Sum(m => m.Value));
        Assert.True(runs.Count < Concurrent, $"{Concurrent} requests took {runs.Count} model runs: none was shared.");
        Assert.Contains(runs, m => m.Value > 1);
    }
}
