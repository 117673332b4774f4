using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RealTimeInference.Server.Tests.Sockets;

namespace RealTimeInference.Server.Tests.Predictions;

public sealed class OverloadTests(TinyQueueServerFixture server) : IClassFixture<TinyQueueServerFixture>
{
    private const string Reading = """{"temperature":350,"pressure":1013,"flow_rate":100}""";

    private static readonly (string, string)[] QueueFullLabels =
        [("model", "sensor-anomaly"), ("class", "process-control"), ("reason", "queue_full")];

    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsync() =>
        _client.PostAsJsonAsync("/predict", new { temperature = 350.0, pressure = 1013.0, flow_rate = 100.0 });

    /// <summary>Holds the model on one request and queues a second behind it: the one-row queue is full.</summary>
    private async Task<Task<HttpResponseMessage>[]> FillQueueAsync()
    {
        await server.StartAsync();
        server.Hold();
        var running = PredictAsync();
        await server.WaitForRunAsync();
        var queued = PredictAsync();
        await server.WaitForQueuedAsync(1);
        return [running, queued];
    }

    [Fact]
    public async Task Predict_WhenModelQueueIsFull_Returns503WithRetryAfterThenRecovers()
    {
        var held = await FillQueueAsync();

        var rejected = await PredictAsync();
        server.Release();
        var accepted = await Task.WhenAll(held);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), rejected.Headers.RetryAfter?.Delta);
        using var problem = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("application/problem+json", rejected.Content.Headers.ContentType?.MediaType);
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("queue_full", problem.RootElement.GetProperty("reason").GetString());
        // The held requests are answered once the model runs: the queue has room again.
        Assert.All(accepted, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, (await PredictAsync()).StatusCode);
    }

    [Fact]
    public async Task Predict_FloodAgainstFullQueue_EveryRequestIsAnsweredAndEveryDropCounted()
    {
        var before = await PrometheusText.ReadAsync(_client, "rti_inference_dropped_total", QueueFullLabels);
        var held = await FillQueueAsync();

        var flood = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => PredictAsync()));
        server.Release();
        var responses = flood.Concat(await Task.WhenAll(held)).ToArray();

        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var refused = responses.Count(r => r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(2, ok);
        Assert.Equal(responses.Length, ok + refused);
        Assert.Equal(200, await PrometheusText.ReadAsync(_client, "rti_inference_dropped_total", QueueFullLabels) - before);
    }

    [Fact]
    public async Task Socket_WhenModelQueueIsFull_AnswersOverloadedWithTheReason_AndKeepsServing()
    {
        using var socket = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None);
        var held = await FillQueueAsync();

        await socket.SendTextAsync(Reading);
        var refused = await socket.ReceiveJsonAsync();
        server.Release();
        await Task.WhenAll(held);

        // Overload reads as overload, with the same reason and Retry-After an HTTP client gets.
        Assert.Equal("overloaded", refused.GetProperty("error").GetString());
        Assert.Equal("queue_full", refused.GetProperty("reason").GetString());
        Assert.Equal(503, refused.GetProperty("status").GetInt32());
        Assert.Equal(3, refused.GetProperty("retry_after_seconds").GetInt32());
        // The queue has room again, and the same socket is answered.
        await socket.SendTextAsync(Reading);
        Assert.True((await socket.ReceiveJsonAsync()).TryGetProperty("prediction", out _));
    }
}
