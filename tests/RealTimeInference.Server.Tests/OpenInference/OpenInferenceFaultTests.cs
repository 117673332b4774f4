using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Tests.Resilience;
using static RealTimeInference.Server.Tests.OpenInference.OpenInferenceRestTests;

namespace RealTimeInference.Server.Tests.OpenInference;

/// <summary>V2 answers through the same guard as /predict: the fallback model named when it answers, the outcome vocabulary when nobody can.</summary>
public sealed class OpenInferenceFaultTests(FaultyModelServerFixture server) : IClassFixture<FaultyModelServerFixture>
{
    private static readonly string Body =
        $$"""{"inputs":[{"name":"Features","shape":[{{Rows.Length}},3],"datatype":"FP32","data":[{{Flat(Rows)}}]}]}""";

    private readonly HttpClient _client = server.CreateClient();

    private async Task<(HttpResponseMessage Response, JsonElement Body)> InferAsync(string model)
    {
        var response = await _client.PostAsync($"/v2/models/{model}/infer", new StringContent(Body, Encoding.UTF8, "application/json"));
        return (response, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task FailingModel_IsAnsweredByItsFallback_Named_ThenWhenBothFail_NoScoreIsMadeUp()
    {
        var (_, lite) = await InferAsync("sensor-anomaly-lite");
        server.Fail("sensor-anomaly", true);
        try
        {
            var (response, body) = await InferAsync("sensor-anomaly");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sensor-anomaly", body.GetProperty("model_name").GetString());
            Assert.Equal("sensor-anomaly-lite", body.GetProperty("parameters").GetProperty("answered_by").GetString());
            Assert.True(body.GetProperty("parameters").GetProperty("fallback").GetBoolean());
            Assert.Equal(Data(lite), Data(body));

            server.Fail("sensor-anomaly-lite", true);
            var (failed, error) = await InferAsync("sensor-anomaly");

            // Inference:Resilience:SafeDefaultScore answers /predict, marked; a V2 output tensor cannot say it was made up.
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.False(string.IsNullOrEmpty(error.GetProperty("error").GetString()));
        }
        finally
        {
            server.Fail("sensor-anomaly", false);
            server.Fail("sensor-anomaly-lite", false);
        }
    }
}

public sealed class OpenInferenceDrainTests
{
    [Fact]
    public async Task Draining_FailsV2ReadinessAndRefusesInferWith503AndRetryAfter_WhileLivenessHolds()
    {
        await using var server = new ServerFixture();
        using var client = server.CreateClient();
        var body = $$"""{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[350,1013,100]}]}""";
        var before = await client.PostAsync("/v2/models/sensor-anomaly/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        server.Services.GetRequiredService<ModelRepository>().BeginDrain();
        var ready = await client.GetAsync("/v2/health/ready");
        var modelReady = await client.GetAsync("/v2/models/sensor-anomaly/ready");
        var live = await client.GetAsync("/v2/health/live");
        var refused = await client.PostAsync("/v2/models/sensor-anomaly/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.NotNull(ready.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, modelReady.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("\"error\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
