using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Transport;

/// <summary>The real server (real Kestrel parses the bytes), with a body rate a slow client fails after a second and a bit.</summary>
public sealed class FramingServerFixture : IAsyncLifetime
{
    private RealServer? _server;

    public Uri Url => _server!.Url;

    /// <summary>The server's log lines so far.</summary>
    public IEnumerable<string> Log => _server!.Output;

    public async Task InitializeAsync() => _server = await RealServer.StartAsync(
        "--Server:Limits:MinRequestBodyBytesPerSecond=240", "--Server:Limits:MinRequestBodyGracePeriod=00:00:01.1");

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Requests whose bytes lie about their body: each gets a problem, not a 500, and the server logs no error.</summary>
public sealed class BrokenFramingTests(FramingServerFixture fixture) : IClassFixture<FramingServerFixture>
{
    private const string Reading = """{"temperature":350,"pressure":1013,"flow_rate":100}""";

    private static string Head(string framing) =>
        $"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nConnection: close\r\n{framing}\r\n";

    private static string Chunk(string body) => $"{body.Length:x}\r\n{body}\r\n";

    public static TheoryData<string, string, int> Requests => new()
    {
        { "Content-Length and Transfer-Encoding", Head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + Chunk(Reading) + "0\r\n\r\n", 400 },
        { "chunk size zz", Head("Transfer-Encoding: chunked\r\n") + "zz\r\n" + Reading + "\r\n0\r\n\r\n", 400 },
        { "chunk size -5", Head("Transfer-Encoding: chunked\r\n") + "-5\r\n" + Reading + "\r\n0\r\n\r\n", 400 },
        { "chunk size 2^64-1", Head("Transfer-Encoding: chunked\r\n") + "ffffffffffffffff\r\n" + Reading + "\r\n0\r\n\r\n", 400 },
        { "chunk without its CRLF", Head("Transfer-Encoding: chunked\r\n") + $"{Reading.Length:x}\r\n{Reading}0\r\n\r\n", 400 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task BrokenFraming_IsAProblem_NeverA500(string name, string request, int status)
    {
        var (code, body) = await SendAsync(request);

        Assert.True(status == code, $"{name}: {code} {body}");
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        AssertNoErrorLogged();
    }

    [Fact]
    public async Task BodyShorterThanDeclared_ThenTheClientLeaves_LogsNoErrorAndTheServerServes()
    {
        // Kestrel closes the connection of a client that ends its body early: nobody is left to answer.
        await Assert.ThrowsAnyAsync<IOException>(() => SendAsync(Head("Content-Length: 100\r\n") + Reading, endEarly: true));

        var (code, _) = await SendAsync(Head($"Content-Length: {Reading.Length}\r\n") + Reading);
        Assert.Equal(200, code);
        AssertNoErrorLogged();
    }

    [Fact]
    public async Task BodySlowerThanTheMinimumRate_Is408()
    {
        // Ten bytes of a hundred, then nothing: below 240 bytes a second once the grace period is over.
        var (code, body) = await SendAsync(Head("Content-Length: 100\r\n") + Reading[..10]);

        Assert.Equal(408, code);
        Assert.Contains("too slowly", body, StringComparison.Ordinal);
        AssertNoErrorLogged();
    }

    [Theory]
    [InlineData(37_979)]
    [InlineData(2_000_000)]
    public async Task BodyOverTheLimit_Is413_AndTheConnectionEitherSaysCloseOrServesTheNextRequest(int bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(fixture.Url.Host, fixture.Url.Port);
        var stream = client.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var head = $"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {bytes}\r\n\r\n";
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head + new string(' ', bytes)), timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer 413 and close before the whole body is written: its answer is still there to read.
        }

        var (first, closes) = await ReadResponseAsync(stream, timeout.Token);
        Assert.StartsWith("HTTP/1.1 413", first, StringComparison.Ordinal);
        if (closes)
        {
            // Said so: the connection ends after the answer, and a client opens another.
            Assert.Equal(0, await stream.ReadAsync(new byte[1], timeout.Token));
        }
        else
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n"), timeout.Token);
            var (second, _) = await ReadResponseAsync(stream, timeout.Token);
            Assert.StartsWith("HTTP/1.1 200", second, StringComparison.Ordinal);
        }

        AssertNoErrorLogged();
    }

    /// <summary>One HTTP/1.1 response (Content-Length or chunked): its head, and whether it says Connection: close.</summary>
    private static async Task<(string Head, bool Closes)> ReadResponseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        string Text() => Encoding.ASCII.GetString([.. bytes]);
        while (!Text().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.True(await stream.ReadAsync(one, cancellationToken) == 1, $"The connection closed mid-answer: {Text()}");
            bytes.Add(one[0]);
        }

        var head = Text();
        var lines = head.Split("\r\n");
        var length = lines.FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } header
            ? int.Parse(header.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture) : -1;
        bytes.Clear();
        while (length >= 0 ? bytes.Count < length : !Text().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal) && Text() != "0\r\n\r\n")
        {
            Assert.True(await stream.ReadAsync(one, cancellationToken) == 1, $"The connection closed mid-body: {head}{Text()}");
            bytes.Add(one[0]);
        }

        return (head, lines.Any(l => l.Equals("Connection: close", StringComparison.OrdinalIgnoreCase)));
    }

    private void AssertNoErrorLogged()
    {
        var errors = fixture.Log.Where(line => line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors));
    }

    /// <summary>Sends raw bytes (optionally closing the sending side after them) and reads the answer until the server closes.</summary>
    private async Task<(int Status, string Body)> SendAsync(string request, bool endEarly = false)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(fixture.Url.Host, fixture.Url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        if (endEarly)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, timeout.Token);
        var text = Encoding.UTF8.GetString(answer.ToArray());
        if (text.Length == 0)
        {
            throw new IOException("The server closed the connection without an answer.");
        }

        var status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        var start = text.IndexOf('{', StringComparison.Ordinal);
        var end = text.LastIndexOf('}');
        return (status, start < 0 ? "" : text[start..(end + 1)]);
    }
}
