using System.Globalization;
using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using RealTimeInference.Server.OpenInference.Grpc;
using RealTimeInference.Server.Tests.OpenInference;

namespace RealTimeInference.Server.Tests.RateLimiting;

/// <summary>Three requests per client, refilled once an hour: nothing refills during a test.</summary>
public class RateLimitedServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("RateLimiting:Enabled", "true"),
        new("RateLimiting:TokenLimit", "3"),
        new("RateLimiting:TokensPerPeriod", "3"),
        new("RateLimiting:ReplenishmentPeriod", "01:00:00"),
    ];

    public Task<HttpResponseMessage> PredictAsync(string? key = null, string? clientId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = new StringContent("""{"temperature":350,"pressure":1013,"flow_rate":100}""", Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        if (clientId is not null)
        {
            request.Headers.Add("X-Client-Id", clientId);
        }

        return CreateClient().SendAsync(request);
    }
}

/// <summary>The same limits, with API keys: each key is a client; an X-Client-Id may use a third of its key's bucket.</summary>
public sealed class KeyedRateLimitedServerFixture : RateLimitedServerFixture
{
    public static readonly string[] Keys = ["press-07-key-000000001", "etcher-02-key-00000002", "gateway-key-00000000003", "gateway-key-00000000004"];

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        .. base.Settings,
        new("RateLimiting:ClientIdShare", "0.34"),
        .. Keys.SelectMany((key, i) => new KeyValuePair<string, string?>[] { new($"Security:ApiKeys:{i}:Key", key), new($"Security:ApiKeys:{i}:Role", "ingest") }),
    ];
}

public sealed class RateLimitTests(RateLimitedServerFixture server) : IClassFixture<RateLimitedServerFixture>
{
    [Fact]
    public async Task Predict_ANewClientIdPerRequest_DoesNotEscapeTheAddressesLimit()
    {
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            responses.Add(await server.PredictAsync(clientId: $"made-up-{i}"));
        }

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Health_IsNeverRateLimited()
    {
        var client = server.CreateClient();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        }
    }
}

public sealed class KeyedRateLimitTests(KeyedRateLimitedServerFixture server) : IClassFixture<KeyedRateLimitedServerFixture>
{
    private static readonly string[] Keys = KeyedRateLimitedServerFixture.Keys;

    [Fact]
    public async Task Predict_KeyOverItsRate_Gets429WithRetryAfterWhileOtherKeysAreServed()
    {
        var flood = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            flood.Add(await server.PredictAsync(Keys[0]));
        }

        var other = await server.PredictAsync(Keys[1]);

        Assert.Equal(3, flood.Count(r => r.StatusCode == HttpStatusCode.OK));
        var limited = flood.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
        Assert.Equal(3, limited.Length);
        Assert.All(limited, r =>
        {
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        });
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Predict_ClientIds_SubdivideTheirKeysBucket_NeverAddToIt()
    {
        var key = Keys[2];

        // A third of three tokens each: one request per id, three for the key in all.
        var first = await server.PredictAsync(key, "tool-a");
        var again = await server.PredictAsync(key, "tool-a");
        var others = await Task.WhenAll(server.PredictAsync(key, "tool-b"), server.PredictAsync(key, "tool-c"));
        var fourth = await server.PredictAsync(key, "tool-d");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.All(others, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
    }

    [Fact]
    public async Task Predict_WithoutAKey_Is401_AndSpendsNoKeysBudget()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.PredictAsync(clientId: Keys[3])).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await server.PredictAsync(Keys[3])).StatusCode);
    }
}

/// <summary>A server of its own, so its one address's three tokens are the socket's alone.</summary>
public sealed class SocketRateLimitedServerFixture : RateLimitedServerFixture;

public sealed class SocketRateLimitTests(SocketRateLimitedServerFixture server) : IClassFixture<SocketRateLimitedServerFixture>
{
    [Fact]
    public async Task Socket_MessagesCountAgainstTheClientsRate_AsRequestsDo()
    {
        // The upgrade is one request: two tokens are left for messages.
        using var socket = await server.Server.CreateWebSocketClient().ConnectAsync(new Uri(server.Server.BaseAddress, "ws/predict"), CancellationToken.None);
        var answers = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 4; i++)
        {
            await Sockets.SocketMessages.SendTextAsync(socket, """{"temperature":350,"pressure":1013,"flow_rate":100}""");
            answers.Add(await Sockets.SocketMessages.ReceiveJsonAsync(socket));
        }

        Assert.All(answers[..2], a => Assert.True(a.TryGetProperty("prediction", out _)));
        Assert.All(answers[2..], a =>
        {
            Assert.Equal("rate_limited", a.GetProperty("error").GetString());
            Assert.Equal(429, a.GetProperty("status").GetInt32());
            Assert.True(a.GetProperty("retry_after_seconds").GetInt32() >= 1);
        });
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, socket.State);
        // HTTP shares the same bucket.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await server.PredictAsync()).StatusCode);
    }
}

public sealed class GrpcRateLimitedServerFixture : RateLimitedServerFixture;

/// <summary>gRPC ModelInfer spends its client's tokens as V2 REST does, and is refused in gRPC's terms.</summary>
public sealed class GrpcRateLimitTests(GrpcRateLimitedServerFixture server) : IClassFixture<GrpcRateLimitedServerFixture>
{
    [Fact]
    public async Task ModelInfer_OverTheClientsRate_IsResourceExhausted_WithRetryAfter()
    {
        using var channel = GrpcChannel.ForAddress(server.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.Server.CreateHandler() });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = GrpcInferenceTests.OneReading();

        for (var i = 0; i < 3; i++)
        {
            Assert.Single((await client.ModelInferAsync(request)).Outputs);
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.True(int.Parse(refused.Trailers.GetValue("retry-after")!, CultureInfo.InvariantCulture) >= 1);
        // The probes spend nothing.
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
    }
}
