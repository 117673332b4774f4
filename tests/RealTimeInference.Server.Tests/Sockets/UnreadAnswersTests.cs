using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Xunit.Abstractions;

namespace RealTimeInference.Server.Tests.Sockets;

/// <summary>
/// A <c>/ws/predict</c> client that sends and never reads, against the real server (TCP
/// backpressure needs real sockets): the server must stop reading once its in-flight answers are
/// stuck, error answers included, instead of reading and buffering everything the client sends.
/// </summary>
public sealed class UnreadAnswersTests(ITestOutputHelper output)
{
    // Each message is a bad reading padded to 1 KB, so each gets an error answer without scoring.
    private const int MessageBytes = 1024;
    private const int Messages = 200_000;

    [Fact]
    public async Task A_client_that_never_reads_is_held_back_and_still_gets_every_answer()
    {
        using var server = await RealServer.StartAsync();
        using var socket = await ConnectWithSmallBuffersAsync(server.Url);
        var bad = Encoding.UTF8.GetBytes("""{"temperature":"hot","pressure":1,"flow_rate":1}""".PadRight(MessageBytes));

        var sent = 0;
        var stopSending = false;
        var sending = Task.Run(async () =>
        {
            while (sent < Messages && !Volatile.Read(ref stopSending))
            {
                await socket.SendAsync(bad, WebSocketMessageType.Text, true, CancellationToken.None);
                Interlocked.Increment(ref sent);
            }
        });

        // Without reading, the sends stop making progress once the server stops reading. What gets
        // through before is the in-flight cap plus buffers: the server's kernel receive buffer
        // (up to 6 MB), Kestrel's input pipe (1 MB) and, for the answers, the server's send buffer
        // (up to 4 MB of ~150-byte answers): some 40,000 messages at most, measured 22,433 here.
        var stalledAt = await WaitForStallAsync(() => Volatile.Read(ref sent), sending);
        output.WriteLine($"The sends stalled after {stalledAt} messages.");
        Assert.True(stalledAt < Messages / 4, $"The server read {stalledAt} messages ({(long)stalledAt * MessageBytes / 1_000_000} MB) from a client that read nothing.");

        // Reading again releases the server; every message sent gets its answer, an error naming the field.
        Volatile.Write(ref stopSending, true);
        var answers = 0;
        while (!sending.IsCompleted || answers < Volatile.Read(ref sent))
        {
            var answer = await socket.ReceiveJsonAsync();
            Assert.Equal("temperature", answer.GetProperty("field").GetString());
            answers++;
        }

        await sending;
        Assert.Equal(sent, answers);

        await socket.SendTextAsync("""{"temperature":350,"pressure":1013,"flow_rate":100}""");
        Assert.True((await socket.ReceiveJsonAsync()).TryGetProperty("prediction", out _));
    }

    /// <summary>
    /// Waits until <paramref name="progress"/> has not moved for two seconds (or the sender finished)
    /// and returns it. The old server read 165 MB in 4 s from such a client, never pausing that long.
    /// </summary>
    private static async Task<int> WaitForStallAsync(Func<int> progress, Task sender)
    {
        var last = -1;
        var unchanged = Stopwatch.StartNew();
        var limit = Stopwatch.StartNew();
        while (!sender.IsCompleted && unchanged.Elapsed < TimeSpan.FromSeconds(2))
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(60), "The sends neither stalled nor finished in 60 s.");
            await Task.Delay(50);
            var now = progress();
            if (now != last)
            {
                last = now;
                unchanged.Restart();
            }
        }

        return progress();
    }

    /// <summary>A client socket whose own kernel buffers are small, so the server's answers back up soon.</summary>
    private static async Task<ClientWebSocket> ConnectWithSmallBuffersAsync(Uri server)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096, SendBufferSize = 4096 };
                await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{server.Authority}/ws/predict"), new HttpMessageInvoker(handler), CancellationToken.None);
        return socket;
    }
}
