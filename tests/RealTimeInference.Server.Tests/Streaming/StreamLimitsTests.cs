using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RealTimeInference.Server.Tests.Sockets;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>Room for one WebSocket and one SSE subscriber.</summary>
public sealed class OneConnectionFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("WebSockets:MaxConnections", "1"),
        new("Streaming:MaxSubscribers", "1"),
        new("Streaming:RetryAfterSeconds", "3"),
    ];
}

public sealed class StreamLimitsTests(OneConnectionFixture server) : IClassFixture<OneConnectionFixture>
{
    [Fact]
    public async Task Socket_OverTheConnectionCap_IsRefusedWith503BeforeTheUpgrade()
    {
        var uri = new Uri(server.Server.BaseAddress, "ws/predict");
        using var first = await server.Server.CreateWebSocketClient().ConnectAsync(uri, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(
            () => server.Server.CreateWebSocketClient().ConnectAsync(uri, CancellationToken.None));
        Assert.Contains("503", refused.Message, StringComparison.Ordinal);
        // /ws/webcam counts against the same cap.
        var webcam = await Assert.ThrowsAsync<InvalidOperationException>(
            () => server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/webcam"), CancellationToken.None));
        Assert.Contains("503", webcam.Message, StringComparison.Ordinal);

        // The open socket is unaffected.
        await first.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100}""");
        Assert.True((await first.ReceiveJsonAsync()).TryGetProperty("prediction", out _));
    }

    [Fact]
    public async Task Stream_OverTheSubscriberCap_Gets503ProblemWithRetryAfter()
    {
        var client = server.CreateClient();
        await using var first = await EventStream.OpenAsync(client);

        using var refused = await client.GetAsync("/stream-predictions");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("maximum of 1 subscribers", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Socket_PlainHttpRequest_Gets400Problem()
    {
        using var response = await server.CreateClient().GetAsync("/ws/predict");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
