using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Tests.Sockets;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class OverloadTests(TinyQueueServerFixture server) : IClassFixture<TinyQueueServerFixture>
{
    private static readonly (string, string)[] QueueFullLabels =
        [("model", "sensor-anomaly"), ("class", "process-control"), ("reason", "queue_full")];

    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync(string? deadlineMs = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = JsonContent.Create(new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 }),
        };
        if (deadlineMs is not null)
        {
            request.Headers.Add("X-Deadline-Ms", deadlineMs);
        }

        return _client.SendAsync(request);
    }

    /// <summary>Sends a request that fills the one-row queue (with a deadline the fake clock will not reach) and waits until it is queued.</summary>
    private async Task<Task<HttpResponseMessage>> FillQueueAsync()
    {
        var held = PredictAsync(deadlineMs: "600000");
        var models = server.Services.GetRequiredService<ModelRepository>();
        Assert.True(models.TryGet("sensor-anomaly", out var served));
        var giveUp = DateTime.UtcNow.AddSeconds(10);
        while (served.Batcher.QueuedRows == 0 && DateTime.UtcNow < giveUp)
        {
            await Task.Yield();
        }

        Assert.Equal(1, served.Batcher.QueuedRows);
        return held;
    }

    [Fact]
    public async Task Predict_WhenModelQueueIsFull_Returns503WithRetryAfterThenRecovers()
    {
        var held = await FillQueueAsync();

        var rejected = await PredictAsync();
        await server.AdvanceUntilAsync(held, TimeSpan.FromMilliseconds(100));
        var accepted = await held;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), rejected.Headers.RetryAfter?.Delta);
        using var problem = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("application/problem+json", rejected.Content.Headers.ContentType?.MediaType);
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("queue_full", problem.RootElement.GetProperty("reason").GetString());
        // The held request is answered once its batch runs: the queue has room again.
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Predict_FloodAgainstFullQueue_EveryRequestIsAnsweredAndEveryDropCounted()
    {
        var before = await PrometheusText.ReadAsync(_client, "rti_inference_dropped_total", QueueFullLabels);
        var held = await FillQueueAsync();

        var flood = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => PredictAsync()));
        await server.AdvanceUntilAsync(held, TimeSpan.FromMilliseconds(100));
        var responses = flood.Append(await held).ToArray();

        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var refused = responses.Count(r => r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(1, ok);
        Assert.Equal(responses.Length, ok + refused);
        Assert.Equal(200, await PrometheusText.ReadAsync(_client, "rti_inference_dropped_total", QueueFullLabels) - before);
    }

    [Fact]
    public async Task Socket_WhenModelQueueIsFull_AnswersOverloadedWithTheReason_AndKeepsServing()
    {
        using var socket = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None);
        var held = await FillQueueAsync();

        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100}""");
        var refused = await socket.ReceiveJsonAsync();
        await server.AdvanceUntilAsync(held, TimeSpan.FromMilliseconds(100));

        // Overload reads as overload, with the same reason and Retry-After an HTTP client gets.
        Assert.Equal("overloaded", refused.GetProperty("error").GetString());
        Assert.Equal("queue_full", refused.GetProperty("reason").GetString());
        Assert.Equal(503, refused.GetProperty("status").GetInt32());
        Assert.Equal(3, refused.GetProperty("retry_after_seconds").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await held).StatusCode);
        // The queue has room again, and the same socket is answered.
        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100}""");
        var next = socket.ReceiveJsonAsync();
        await server.AdvanceUntilAsync(next, TimeSpan.FromMilliseconds(100));
        Assert.True((await next).TryGetProperty("prediction", out _));
    }
}
