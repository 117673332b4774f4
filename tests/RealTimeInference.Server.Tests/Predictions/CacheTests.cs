using System.Net.Http.Json;
using System.Text.Json;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class CachedServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Inference:Cache:Enabled", "true")];
}

public sealed class CacheTests(CachedServerFixture server) : IClassFixture<CachedServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task<float> PredictAsync(double temperature)
    {
        var response = await _client.PostAsJsonAsync("/predict", new { temperature, pressure = 1013.0, flow_rate = 100.0 });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("prediction").GetSingle();
    }

    [Fact]
    public async Task Predict_RepeatedReading_IsAnsweredFromTheCacheWithTheSameScore()
    {
        var cache = server.Services.GetRequiredService<PredictionCache>();
        using var lookups = new MetricCollector<long>(
            server.Services.GetRequiredService<IMeterFactory>(), InferenceMetrics.MeterName, "cache_requests_total");
        var before = cache.Count;

        var first = await PredictAsync(351.25);
        var afterFirst = cache.Count;
        var second = await PredictAsync(351.25);
        await PredictAsync(351.5);

        Assert.Equal(first, second);
        Assert.Equal(
            ["miss", "hit", "miss"],
            lookups.GetMeasurementSnapshot().Select(m => (string?)m.Tags["result"]));
        Assert.Equal(before + 1, afterFirst);
        Assert.Equal(afterFirst + 1, cache.Count);
    }
}
