using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class PredictEndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Healthy = """{"timestamp":"2026-11-26T10:00:00.123456","temperature":350.2,"pressure":1012.5,"flow_rate":99.8}""";

    private readonly HttpClient _client = server.CreateClient();

    private static StringContent Json(string body, string mediaType = "application/json") =>
        new(body, Encoding.UTF8, mediaType);

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string path, HttpContent content)
    {
        var response = await _client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task AssertStillServesAsync()
    {
        var (response, body) = await PostAsync("/predict", Json(Healthy));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sensor-anomaly", body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Predict_HealthyReading_ReturnsSeedShapeWithModelProbability()
    {
        var (response, body) = await PostAsync("/predict", Json(Healthy));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
            ["prediction", "is_anomaly", "timestamp", "latency_ms", "model", "model_version", "fallback"],
            body.EnumerateObject().Select(p => p.Name).ToArray());
        var prediction = body.GetProperty("prediction").GetDouble();
        Assert.InRange(prediction, 0, 0.5);
        Assert.False(body.GetProperty("is_anomaly").GetBoolean());
        // The seed's timestamp has no offset: it is taken as UTC and echoed in RFC 3339 UTC.
        Assert.Equal("2026-11-26T10:00:00.123456Z", body.GetProperty("timestamp").GetString());
        Assert.True(body.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Equal(1, body.GetProperty("model_version").GetInt32());
        Assert.False(body.GetProperty("fallback").GetBoolean());
    }

    [Fact]
    public async Task Predict_TemperatureSpike_IsAnomalousWithHighProbability()
    {
        var (response, body) = await PostAsync("/predict", Json("""{"temperature":420,"pressure":1013,"flow_rate":100}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(body.GetProperty("is_anomaly").GetBoolean());
        Assert.InRange(body.GetProperty("prediction").GetDouble(), 0.9, 1);
        // No timestamp sent: the server's own time comes back, in UTC.
        Assert.True(DateTimeOffset.TryParse(body.GetProperty("timestamp").GetString(), out var time));
        Assert.Equal(TimeSpan.Zero, time.Offset);
        Assert.EndsWith("Z", body.GetProperty("timestamp").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_SameReadingTwice_GivesTheSameScore()
    {
        var (_, first) = await PostAsync("/predict", Json(Healthy));
        var (_, second) = await PostAsync("/predict", Json(Healthy));

        Assert.Equal(first.GetProperty("prediction").GetDouble(), second.GetProperty("prediction").GetDouble());
    }

    [Theory]
    [InlineData("""{"temperature":350,"pressure":1013""", "$", "Malformed JSON")]
    [InlineData("""not json""", "$", "Malformed JSON")]
    [InlineData("", "$", "empty")]
    [InlineData("""{"pressure":1013,"flow_rate":100}""", "temperature", "required")]
    [InlineData("""{"temperature":350,"flow_rate":100}""", "pressure", "required")]
    [InlineData("""{"temperature":350,"pressure":1013}""", "flow_rate", "required")]
    [InlineData("""{"temperature":"hot","pressure":1013,"flow_rate":100}""", "temperature", "must be a number")]
    [InlineData("""{"temperature":null,"pressure":1013,"flow_rate":100}""", "temperature", "not null")]
    [InlineData("""{"temperature":350,"pressure":true,"flow_rate":100}""", "pressure", "must be a number")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":[1]}""", "flow_rate", "must be a number")]
    [InlineData("""{"temperature":NaN,"pressure":1013,"flow_rate":100}""", "$", "Malformed JSON")]
    [InlineData("""{"temperature":"NaN","pressure":1013,"flow_rate":100}""", "temperature", "must be a number")]
    [InlineData("""{"temperature":Infinity,"pressure":1013,"flow_rate":100}""", "$", "Malformed JSON")]
    [InlineData("""{"temperature":1e400,"pressure":1013,"flow_rate":100}""", "temperature", "finite")]
    [InlineData("""{"temperature":350,"pressure":1e39,"flow_rate":100}""", "pressure", "finite")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100,"timestamp":"yesterday"}""", "timestamp", "RFC 3339")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100,"tool_id":7}""", "tool_id", "must be a string")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100,"tool_id":"\ud800"}""", "tool_id", "valid Unicode")]
    [InlineData("""{"temperature":1,"pressure":1013,"flow_rate":100,"temperature":400}""", "temperature", "more than once")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100,"x":{"a":{"b":{"c":{"d":1}}}}}""", "$", "Malformed JSON")]
    [InlineData("""[{"temperature":350,"pressure":1013,"flow_rate":100}]""", "$", "/predict-batch")]
    [InlineData("""42""", "$", "JSON object")]
    [InlineData("""{"temperature":350,"pressure":1013,"flow_rate":100} {}""", "$", "Malformed JSON")]
    public async Task Predict_BadInput_Returns400NamingTheFieldAndKeepsServing(string body, string field, string message)
    {
        var (response, problem) = await PostAsync("/predict", Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var errors = problem.GetProperty("errors").GetProperty(field);
        Assert.Contains(message, errors[0].GetString(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Predict_SeveralBadFields_NamesEveryOneInOneAnswer()
    {
        var (response, problem) = await PostAsync("/predict", Json("""{"temperature":"hot","pressure":1013,"timestamp":"soon"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = problem.GetProperty("errors");
        Assert.Equal(["temperature", "timestamp", "flow_rate"], errors.EnumerateObject().Select(e => e.Name).ToArray());
        Assert.Contains("must be a number", errors.GetProperty("temperature")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("required", errors.GetProperty("flow_rate")[0].GetString(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Predict_FloatMaxAsUsuallyPrinted_IsAccepted()
    {
        var (response, _) = await PostAsync("/predict", Json("""{"temperature":3.4028235e38,"pressure":1013,"flow_rate":100}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Predict_UnknownFields_AreIgnored()
    {
        var (response, _) = await PostAsync("/predict", Json("""{"temperature":350,"pressure":1013,"flow_rate":100,"chamber":"B","recipe":{"step":3}}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Predict_WrongContentType_Returns415AndKeepsServing()
    {
        var (response, problem) = await PostAsync("/predict", Json(Healthy, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(415, problem.GetProperty("status").GetInt32());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Predict_OversizedBody_Returns413AndKeepsServing()
    {
        var padding = new string(' ', 20_000);
        var (response, problem) = await PostAsync("/predict", Json("{" + padding + Healthy[1..]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(413, problem.GetProperty("status").GetInt32());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Predict_OversizedBodyWithoutContentLength_Returns413()
    {
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{" + new string(' ', 20_000) + Healthy[1..])));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Baseline_Predict_HasTheSameShapeWithoutAModel()
    {
        var (response, body) = await PostAsync("/baseline/predict", Json(Healthy));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("baseline", body.GetProperty("model").GetString());
        Assert.Equal(0, body.GetProperty("prediction").GetDouble());
        Assert.True(body.GetProperty("latency_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task UnknownRoute_Returns404Problem()
    {
        var response = await _client.GetAsync("/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(404, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("title").GetString()));
    }
}
