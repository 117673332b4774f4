using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Sockets;

internal static class SocketMessages
{
    public static Task SendTextAsync(this WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public static async Task<(WebSocketMessageType Type, byte[] Message)> ReceiveMessageAsync(this WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var message = new MemoryStream();
        var buffer = new byte[8192];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return (result.MessageType, message.ToArray());
    }

    public static async Task<JsonElement> ReceiveJsonAsync(this WebSocket socket)
    {
        var (type, message) = await socket.ReceiveMessageAsync();
        Assert.Equal(WebSocketMessageType.Text, type);
        return JsonDocument.Parse(message).RootElement.Clone();
    }
}
