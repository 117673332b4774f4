using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Observability;

public sealed class MetricsEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private async Task PredictAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var response = await _client.PostAsJsonAsync("/predict", new { temperature = 350.0 + i, pressure = 1013.0, flow_rate = 100.0 });
            response.EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Metrics_ByDefault_IsPrometheusTextWithLatencyClassBuckets()
    {
        // Requests before the first scrape count too.
        await PredictAsync(3);

        var response = await _client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("\nrti_prediction_duration_seconds_bucket{class=\"process-control\",endpoint=\"/predict\",outcome=\"ok\",le=\"0.1\"}", text, StringComparison.Ordinal);
        Assert.Contains("le=\"1\"}", text, StringComparison.Ordinal);
        Assert.Contains("le=\"5\"}", text, StringComparison.Ordinal);
        Assert.Contains("le=\"30\"}", text, StringComparison.Ordinal);
        Assert.Contains("\nrti_inference_requests_total{model=\"sensor-anomaly\",outcome=\"ok\"}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACounterNothingHasCountedYet_IsExportedAsZero()
    {
        // The fixture's server stores every prediction and streams to no one: nothing dropped.
        var text = await _client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE rti_results_dropped_total counter\nrti_results_dropped_total 0\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE rti_stream_events_dropped_total counter\nrti_stream_events_dropped_total 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WithAcceptJson_ReturnsTheSeedSummaryShape()
    {
        await PredictAsync(5);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        var response = await _client.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var latency = root.GetProperty("latency");
        foreach (var field in new[] { "p50_ms", "p95_ms", "p99_ms", "avg_ms", "max_ms" })
        {
            Assert.True(latency.GetProperty(field).GetDouble() > 0, field);
        }

        Assert.True(latency.GetProperty("p50_ms").GetDouble() <= latency.GetProperty("p99_ms").GetDouble());
        Assert.True(latency.GetProperty("p99_ms").GetDouble() <= latency.GetProperty("max_ms").GetDouble());
        Assert.True(root.GetProperty("throughput_rps").GetDouble() > 0);
        Assert.Equal(0, root.GetProperty("error_rate").GetDouble());
        Assert.True(root.GetProperty("requests").GetInt64() >= 5);
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), out _));
        Assert.EndsWith("Z", root.GetProperty("timestamp").GetString(), StringComparison.Ordinal);
    }
}
