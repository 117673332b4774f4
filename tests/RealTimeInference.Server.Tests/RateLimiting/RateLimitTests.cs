using System.Net;
using System.Text;

namespace RealTimeInference.Server.Tests.RateLimiting;

/// <summary>Three requests per client, refilled once an hour: nothing refills during a test.</summary>
public sealed class RateLimitedServerFixture : ServerFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("RateLimiting:Enabled", "true"),
        new("RateLimiting:TokenLimit", "3"),
        new("RateLimiting:TokensPerPeriod", "3"),
        new("RateLimiting:ReplenishmentPeriod", "01:00:00"),
    ];
}

public sealed class RateLimitTests(RateLimitedServerFixture server) : IClassFixture<RateLimitedServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> PredictAsClientAsync(string client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict")
        {
            Content = new StringContent("""{"temperature":350,"pressure":1013,"flow_rate":100}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Client-Id", client);
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task Predict_ClientOverItsRate_Gets429WithRetryAfterWhileOthersAreServed()
    {
        var flood = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            flood.Add(await PredictAsClientAsync("press-07"));
        }

        var other = await PredictAsClientAsync("etcher-02");

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
    public async Task Health_IsNeverRateLimited()
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/health/live")).StatusCode);
        }
    }
}
