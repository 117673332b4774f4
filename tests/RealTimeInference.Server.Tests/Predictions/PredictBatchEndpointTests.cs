using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class PredictBatchEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private static string Readings(int count, Func<int, string>? reading = null) =>
        "[" + string.Join(",", Enumerable.Range(0, count).Select(reading ?? (i =>
            string.Create(CultureInfo.InvariantCulture, $$"""{"temperature":{{350 + (i % 7)}},"pressure":1013,"flow_rate":100}""")))) + "]";

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string body, string path = "/predict-batch")
    {
        var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task PredictBatch_Readings_ReturnsOneProbabilityEachInOrder()
    {
        var body = """
            [{"temperature":350,"pressure":1013,"flow_rate":100},
             {"temperature":0,"pressure":1013,"flow_rate":100},
             {"timestamp":"2026-01-01T00:00:00Z","temperature":351,"pressure":1012,"flow_rate":99,"tool_id":"t1","sensor_id":"s1"}]
            """;

        var (response, result) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = result.GetProperty("predictions").EnumerateArray().Select(p => p.GetDouble()).ToArray();
        Assert.Equal(3, predictions.Length);
        Assert.Equal(3, result.GetProperty("count").GetInt32());
        Assert.True(predictions[0] < 0.5 && predictions[2] < 0.5);
        Assert.True(predictions[1] > 0.9, "A temperature stuck at 0 must score as anomalous.");
        Assert.Equal([1], result.GetProperty("anomalies").EnumerateArray().Select(a => a.GetInt32()));
        var latency = result.GetProperty("latency_ms").GetDouble();
        Assert.True(latency > 0);
        Assert.Equal(latency / 3, result.GetProperty("avg_latency_ms").GetDouble(), 9);
        Assert.Equal("sensor-anomaly", result.GetProperty("model").GetString());
    }

    [Fact]
    public async Task PredictBatch_ScoresMatchSinglePredictions()
    {
        var (_, batch) = await PostAsync(Readings(20));
        var scores = batch.GetProperty("predictions").EnumerateArray().Select(p => p.GetSingle()).ToArray();

        for (var i = 0; i < 7; i++)
        {
            var single = await _client.PostAsync("/predict", new StringContent(
                string.Create(CultureInfo.InvariantCulture, $$"""{"temperature":{{350 + i}},"pressure":1013,"flow_rate":100}"""),
                Encoding.UTF8,
                "application/json"));
            using var json = JsonDocument.Parse(await single.Content.ReadAsStringAsync());
            Assert.Equal(scores[i], json.RootElement.GetProperty("prediction").GetSingle());
        }
    }

    [Fact]
    public async Task PredictBatch_ThousandReadings_AreAllScored()
    {
        var (response, result) = await PostAsync(Readings(1000));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1000, result.GetProperty("predictions").GetArrayLength());
    }

    [Fact]
    public async Task PredictBatch_Empty_Returns400()
    {
        var (response, problem) = await PostAsync("[]");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("empty", problem.GetProperty("errors").GetProperty("$")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100},{"temperature":350,"pressure":"high","flow_rate":100}]""", "[1].pressure")]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100},{"temperature":350,"pressure":1013}]""", "[1].flow_rate")]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100},7]""", "[1]")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100}""", "$")]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100},""", "$")]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100,"timestamp":"noon"}]""", "[0].timestamp")]
    public async Task PredictBatch_BadReading_Returns400NamingIndexAndField(string body, string field)
    {
        var (response, problem) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}: {problem}");
        var (next, _) = await PostAsync(Readings(2));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task PredictBatch_ManyBadReadings_NamesTheFirstHundredFieldsAtFault()
    {
        var readings = string.Join(",", Enumerable.Range(0, 150).Select(i => i % 2 == 0
            ? """{"temperature":350,"pressure":1013,"flow_rate":100}"""
            : """{"temperature":"hot","pressure":1013}"""));

        var response = await _client.PostAsync("/predict-batch", new StringContent("[" + readings + "]", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var fields = problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToArray();
        Assert.Equal(100, fields.Length);
        // Two per bad reading: its temperature and its missing flow rate.
        Assert.Equal(["[1].temperature", "[1].flow_rate", "[3].temperature"], fields[..3]);
        Assert.Equal("[99].flow_rate", fields[^1]);
    }

    [Fact]
    public async Task PredictBatch_MoreThanMaxReadings_Returns413()
    {
        var (response, problem) = await PostAsync(Readings(10_001, _ => "{\"temperature\":1,\"pressure\":1,\"flow_rate\":1}"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("10000", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var (next, _) = await PostAsync(Readings(2));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task PredictBatch_BodyOverByteLimit_Returns413()
    {
        var body = Readings(3) + new string(' ', 4 * 1024 * 1024);

        var response = await _client.PostAsync("/predict-batch", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Baseline_PredictBatch_HasTheSameShape()
    {
        var (response, result) = await PostAsync(Readings(5), "/baseline/predict-batch");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(5, result.GetProperty("count").GetInt32());
        Assert.All(result.GetProperty("predictions").EnumerateArray(), p => Assert.Equal(0, p.GetDouble()));
    }
}
