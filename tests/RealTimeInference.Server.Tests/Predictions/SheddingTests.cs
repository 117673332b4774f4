using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class SheddingTests(SheddingServerFixture server) : IClassFixture<SheddingServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync(string latencyClass)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = JsonContent.Create(new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 }),
        };
        request.Headers.Add("X-Latency-Class", latencyClass);
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task Overload_ShedsYieldForecastingFirst_AndEmergencyMeetsItsDeadline()
    {
        var models = server.Services.GetRequiredService<ModelRepository>();
        Assert.True(models.TryGet("sensor-anomaly", out var served));
        var yields = new List<Task<HttpResponseMessage>>();
        for (var i = 1; i <= 4; i++)
        {
            // One at a time, so "oldest" is well defined.
            yields.Add(PredictAsync("yield-forecasting"));
            var giveUp = DateTime.UtcNow.AddSeconds(10);
            while (served.Batcher.QueuedRows < i && DateTime.UtcNow < giveUp)
            {
                await Task.Yield();
            }
        }

        var emergencies = new[] { PredictAsync("emergency"), PredictAsync("emergency") };
        // The two oldest yield-forecasting requests make room at once, before any time passes.
        var shed = await Task.WhenAll(yields.Take(2));
        await server.AdvanceUntilAsync(Task.WhenAll(emergencies.Concat(yields)), TimeSpan.FromMilliseconds(50));

        foreach (var response in shed)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("shed_oldest", problem.RootElement.GetProperty("reason").GetString());
            Assert.NotNull(response.Headers.RetryAfter);
        }

        foreach (var response in emergencies.Select(t => t.Result))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.InRange(body.RootElement.GetProperty("latency_ms").GetDouble(), 0, 100);
        }

        Assert.All(yields.Skip(2).Select(t => t.Result), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
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
