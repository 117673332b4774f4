using System.Net.Sockets;
using System.Text;

namespace RealTimeInference.Server.Tests.Hosting;

/// <summary>Kestrel's limits, against the real server process: the in-memory test server has no connections to limit.</summary>
public sealed class ServerLimitsTests
{
    [Fact]
    public async Task SlowHeaders_AreCutOffWith408_AndTheServerKeepsServing()
    {
        using var server = await RealServer.StartAsync("--Server:Limits:RequestHeadersTimeout=00:00:01");
        using var slow = new TcpClient();
        await slow.ConnectAsync(server.Url.Host, server.Url.Port);
        var stream = slow.GetStream();
        // Headers started and never finished: a slowloris client.
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /predict HTTP/1.1\r\nHost: test\r\nX-Slow: "));

        var buffer = new byte[1024];
        // Configured 1 s, default 10 s: answered within 5 s shows the configured limit applies.
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var answer = Encoding.ASCII.GetString(buffer, 0, read);

        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        using var client = new HttpClient { BaseAddress = server.Url };
        Assert.True((await client.GetAsync("/health/live")).IsSuccessStatusCode);
    }
}
