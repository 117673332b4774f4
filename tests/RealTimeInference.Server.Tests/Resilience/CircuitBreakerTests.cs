using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Resilience;

namespace RealTimeInference.Server.Tests.Resilience;

/// <summary>The breaker's life runs in order inside one test: it shares the fixture's breakers and clock.</summary>
public sealed class CircuitBreakerTests(FaultyModelServerFixture server) : IClassFixture<FaultyModelServerFixture>
{
    private const string Primary = "sensor-anomaly";
    private const string Lite = "sensor-anomaly-lite";

    private readonly HttpClient _client = server.CreateClient();

    private async Task<JsonElement> PredictAsync()
    {
        var response = await _client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private static void AssertAnsweredBy(JsonElement body, string model, bool fallback)
    {
        Assert.Equal(model, body.GetProperty("model").GetString());
        Assert.Equal(fallback, body.GetProperty("fallback").GetBoolean());
    }

    [Fact]
    public async Task Breaker_OpensOnFaults_FallbackAnswersMarked_ClosesAfterRecovery_SafeDefaultWhenAllFail()
    {
        var breakers = server.Services.GetRequiredService<ModelBreakers>();
        AssertAnsweredBy(await PredictAsync(), Primary, fallback: false);

        // Faults: every failed run is answered by the fallback model, marked; four runs open the breaker.
        server.Fail(Primary, true);
        for (var i = 0; i < 4; i++)
        {
            AssertAnsweredBy(await PredictAsync(), Lite, fallback: true);
        }

        Assert.Equal(CircuitState.Open, breakers.StateOf(Primary));
        using (var ready = JsonDocument.Parse(await _client.GetStringAsync("/health/ready")))
        {
            Assert.Equal("Degraded", ready.RootElement.GetProperty("status").GetString());
            Assert.Contains("breaker open", ready.RootElement.GetProperty("checks").GetProperty("models").GetProperty("data").GetProperty(Primary).GetString(), StringComparison.Ordinal);
        }

        Assert.Equal((int)CircuitState.Open, await PrometheusText.ReadAsync(_client, "rti_inference_breaker_state", ("model", Primary)));

        // Recovered, but the breaker is open: the primary is not even tried until it half-opens.
        server.Fail(Primary, false);
        var runs = server.Runs(Primary);
        AssertAnsweredBy(await PredictAsync(), Lite, fallback: true);
        Assert.Equal(runs, server.Runs(Primary));

        server.Time.Advance(TimeSpan.FromSeconds(5));
        AssertAnsweredBy(await PredictAsync(), Primary, fallback: false);
        Assert.Equal(CircuitState.Closed, breakers.StateOf(Primary));
        using (var ready = JsonDocument.Parse(await _client.GetStringAsync("/health/ready")))
        {
            Assert.Equal("Healthy", ready.RootElement.GetProperty("status").GetString());
        }

        // Both models failing: the documented safe default answers, flagged as an anomaly and marked.
        server.Fail(Primary, true);
        server.Fail(Lite, true);
        var safe = await PredictAsync();
        AssertAnsweredBy(safe, "safe-default", fallback: true);
        Assert.Equal(1.0, safe.GetProperty("prediction").GetDouble());
        Assert.True(safe.GetProperty("is_anomaly").GetBoolean());
        Assert.True(await PrometheusText.ReadAsync(_client, "rti_inference_fallbacks_total", ("model", Primary), ("answer", "safe_default")) >= 1);
    }
}
