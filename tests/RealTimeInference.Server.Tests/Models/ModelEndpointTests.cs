using System.Net;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Models;

public sealed class ModelEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    [Fact]
    public async Task Models_ListsTheBundledModelsWithTheirManifests()
    {
        using var json = JsonDocument.Parse(await _client.GetStringAsync("/models"));
        var all = json.RootElement.EnumerateArray().ToArray();
        // The chambers' FDC models (12 of them, listed first by name) are the Readings tests' (BundledChamberModelsTests).
        var models = all.Where(m => !m.GetProperty("name").GetString()!.StartsWith("fdc-", StringComparison.Ordinal)).ToArray();

        Assert.Equal(12, all.Length - models.Length);
        Assert.Equal(["sensor-anomaly", "sensor-anomaly-lite", "wafer-defect", "yield-forecast"], models.Select(m => m.GetProperty("name").GetString()));
        var wafer = models[2].GetProperty("manifest");
        Assert.Equal(9, wafer.GetProperty("classes").GetArrayLength());
        Assert.Equal("wafer", wafer.GetProperty("preprocessing").GetProperty("sampling").GetString());
        Assert.All(models[..2], m =>
        {
            Assert.Equal("serving", m.GetProperty("state").GetString());
            Assert.Equal(1, m.GetProperty("version").GetInt32());
            var manifest = m.GetProperty("manifest");
            Assert.Equal(
                ["temperature", "pressure", "flow_rate"],
                manifest.GetProperty("input").GetProperty("features").EnumerateArray().Select(f => f.GetString()));
            Assert.InRange(manifest.GetProperty("metrics").GetProperty("auc").GetDouble(), 0.5, 1);
        });
    }

    [Fact]
    public async Task Model_ByName_ShowsVersionsThresholdAndFallback()
    {
        using var json = JsonDocument.Parse(await _client.GetStringAsync("/models/sensor-anomaly"));
        var model = json.RootElement;

        Assert.Equal([1], model.GetProperty("versions").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal("sensor-anomaly-lite", model.GetProperty("manifest").GetProperty("fallback").GetString());
        Assert.InRange(model.GetProperty("manifest").GetProperty("threshold").GetDouble(), 0, 1);
        Assert.Equal("Probability.output", model.GetProperty("manifest").GetProperty("output").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Model_Unknown_Returns404Problem()
    {
        var response = await _client.GetAsync("/models/no-such-model");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
