using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class OverloadTests(TinyQueueServerFixture server) : IClassFixture<TinyQueueServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync() =>
        _client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });

    [Fact]
    public async Task Predict_WhenModelQueueIsFull_Returns503WithRetryAfterThenRecovers()
    {
        var held = PredictAsync();
        // The held request fills the one-row queue; wait until the batcher has it.
        var models = server.Services.GetRequiredService<ModelRepository>();
        Assert.True(models.TryGet("sensor-anomaly", out var served));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (served.Batcher.QueuedRows == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        Assert.Equal(1, served.Batcher.QueuedRows);

        var rejected = await PredictAsync();
        // The batcher may arm its timer just after an advance; keep the fake clock moving until it fires.
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (!held.IsCompleted && DateTime.UtcNow < deadline)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await Task.Yield();
        }

        var accepted = await held;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), rejected.Headers.RetryAfter?.Delta);
        using var problem = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("application/problem+json", rejected.Content.Headers.ContentType?.MediaType);
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        // The held request is answered once its batch runs: the queue has room again.
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(0, served.Batcher.QueuedRows);
    }
}
