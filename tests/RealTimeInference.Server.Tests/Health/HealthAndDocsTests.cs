using System.Net;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Health;

public sealed class HealthAndDocsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task Live_IsHealthyWithoutCheckingDependencies()
    {
        var response = await _client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Empty(json.RootElement.GetProperty("checks").EnumerateObject());
    }

    [Fact]
    public async Task Ready_WithBundledModelsLoaded_IsHealthyAndListsThem()
    {
        var response = await _client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var models = json.RootElement.GetProperty("checks").GetProperty("models");
        Assert.Equal("Healthy", models.GetProperty("status").GetString());
        Assert.True(models.GetProperty("data").TryGetProperty("sensor-anomaly", out _));
        Assert.True(models.GetProperty("data").TryGetProperty("sensor-anomaly-lite", out _));
    }

    [Fact]
    public async Task Ready_WithNoModels_Returns503()
    {
        await using var empty = new ServerFixture { ModelsPath = Path.Combine(Path.GetTempPath(), "rti-none-" + Guid.NewGuid().ToString("N")) };
        using var client = empty.CreateClient();

        var ready = await client.GetAsync("/health/ready");
        var live = await client.GetAsync("/health/live");
        var predict = await client.PostAsync("/predict", new StringContent("""{"temperature":1,"pressure":1,"flow_rate":1}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, predict.StatusCode);
        Assert.NotNull(predict.Headers.RetryAfter);
    }

    [Fact]
    public async Task Swagger_DocumentsEveryEndpoint()
    {
        var ui = await _client.GetAsync("/swagger/index.html");
        using var doc = JsonDocument.Parse(await _client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = doc.RootElement.GetProperty("paths");

        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        foreach (var path in new[] { "/predict", "/predict-batch", "/metrics", "/health/live", "/health/ready", "/models", "/models/{name}", "/baseline/predict", "/baseline/predict-batch" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document.");
        }

        var predict = paths.GetProperty("/predict").GetProperty("post");
        Assert.True(predict.TryGetProperty("requestBody", out _));
        foreach (var status in new[] { "200", "400", "413", "415", "503" })
        {
            Assert.True(predict.GetProperty("responses").TryGetProperty(status, out _), $"/predict does not document {status}.");
        }

        var predictions = doc.RootElement.GetProperty("components").GetProperty("schemas")
            .GetProperty("BatchPredictionResponse").GetProperty("properties").GetProperty("predictions");
        Assert.Equal("array", predictions.GetProperty("type").GetString());
    }
}
