using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class SheddingTests(SheddingServerFixture server) : IClassFixture<SheddingServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync(string latencyClass, float temperature)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = JsonContent.Create(new { temperature, pressure = 1013.0, flow_rate = 100.0 }),
        };
        request.Headers.Add("X-Latency-Class", latencyClass);
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task Overload_ShedsYieldForecastingFirst_AndServesEmergencyBeforeTheRest()
    {
        await server.StartAsync();
        server.Hold();
        var running = PredictAsync("yield-forecasting", 330);
        await server.WaitForRunAsync();
        var yields = new List<Task<HttpResponseMessage>>();
        for (var i = 1; i <= 4; i++)
        {
            // One at a time, so "oldest" is well defined: the queue (4 rows) is then full.
            yields.Add(PredictAsync("yield-forecasting", 340 + i));
            await server.WaitForQueuedAsync(i);
        }

        // Each emergency makes room at once, while the model is still held: the oldest yield forecast is shed.
        var emergencies = new List<Task<HttpResponseMessage>>();
        var shed = new List<HttpResponseMessage>();
        for (var i = 0; i < 2; i++)
        {
            emergencies.Add(PredictAsync("emergency", 361 + i));
            shed.Add(await yields[i]);
        }

        server.Release();
        await Task.WhenAll(emergencies.Concat(yields).Append(running));

        foreach (var response in shed)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("shed_oldest", problem.RootElement.GetProperty("reason").GetString());
            Assert.NotNull(response.Headers.RetryAfter);
        }

        Assert.All(emergencies.Concat(yields.Skip(2)), r => Assert.Equal(HttpStatusCode.OK, r.Result.StatusCode));
        // Earliest deadline first: the emergencies' batch runs before the yield forecasts left in the queue.
        Assert.Equal([330, 361, 362, 343, 344], server.Scored.ToArray());
    }

    [Theory]
    [InlineData("X-Latency-Class", "urgent")]
    [InlineData("X-Deadline-Ms", "soon")]
    [InlineData("X-Deadline-Ms", "0")]
    [InlineData("X-Deadline-Ms", "-5")]
    [InlineData("X-Deadline-Ms", "NaN")]
    [InlineData("X-Deadline-Ms", "1e9")]
    public async Task Predict_WithBadUrgencyHeader_Returns400NamingTheHeader(string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = JsonContent.Create(new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 }),
        };
        request.Headers.Add(header, value);

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Invalid request header", problem.RootElement.GetProperty("title").GetString());
        Assert.StartsWith(header, problem.RootElement.GetProperty("errors").GetProperty(header)[0].GetString(), StringComparison.Ordinal);
    }
}
