using System.Net.WebSockets;
using System.Text;

namespace RealTimeInference.Server.Tests.Sockets;

/// <summary>A server whose sockets may hold 100 KB for unfinished messages, all together.</summary>
public sealed class SocketMemoryServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("WebSockets:MaxBufferedBytes", "102400")];
}

public sealed class SocketMemoryTests(SocketMemoryServerFixture server) : IClassFixture<SocketMemoryServerFixture>
{
    private async Task<WebSocket> ConnectAsync() =>
        await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None);

    [Fact]
    public async Task UnfinishedMessages_PastTheSharedBudget_CloseTheirSocketWith1009_AndTheMemoryComesBack()
    {
        // Two 50 KB messages each need a 64 KB buffer: both together pass the 100 KB budget.
        var padded = Encoding.UTF8.GetBytes("{" + new string(' ', 50_000) + "\"temperature\":350,\"pressure\":1013,\"flow_rate\":100}");
        var sockets = new[] { await ConnectAsync(), await ConnectAsync() };
        var outcomes = await Task.WhenAll(sockets.Select(async socket =>
        {
            try
            {
                await socket.SendAsync(padded.AsMemory(0, 40_000), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
                await socket.SendAsync(padded.AsMemory(40_000), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // Closed by the server while sending.
            }

            var buffer = new byte[4096];
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            return received.MessageType == WebSocketMessageType.Close ? socket.CloseStatus : null;
        }));

        Assert.Contains(WebSocketCloseStatus.MessageTooBig, outcomes);
        Assert.True(await PrometheusText.ReadAsync(server.CreateClient(), "rti_connections_rejected_total", ("kind", "socket_memory")) >= 1);
        foreach (var socket in sockets.Where(s => s.State == WebSocketState.Open))
        {
            // The server answers the close once its receive loop has ended and given back what it held.
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        // What the closed sockets held is given back: a new socket's message fits again.
        using var next = await ConnectAsync();
        await next.SendTextAsync(Encoding.UTF8.GetString(padded));
        Assert.True((await next.ReceiveJsonAsync()).TryGetProperty("prediction", out _));
    }
}
