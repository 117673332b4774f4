using System.Net;
using System.Text;

namespace RealTimeInference.Server.Tests.Security;

public sealed class KeyedServerFixture : ServerFixture
{
    public const string Key = "fab-07-gateway-key-0001";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Security:ApiKeys:0", Key),
        new("Security:ApiKeys:1", "another-key-of-length-16"),
        new("Security:ExposeSwagger", "false"),
    ];
}

public sealed class ApiKeyTests(KeyedServerFixture server) : IClassFixture<KeyedServerFixture>
{
    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key)
    {
        var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("""{"temperature":350,"pressure":1013,"flow_rate":100}""", Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        return _client.SendAsync(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("fab-07-gateway-key-0002")]
    [InlineData("fab-07-gateway-key-00011")]
    public async Task Predict_WithoutAValidKey_Returns401Problem(string? key)
    {
        var response = await SendAsync(HttpMethod.Post, "/predict", key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("X-Api-Key", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KeyedServerFixture.Key)]
    [InlineData("another-key-of-length-16")]
    public async Task Predict_WithAConfiguredKey_IsServed(string key)
    {
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/predict", key)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/models", key)).StatusCode);
    }

    [Fact]
    public async Task Models_NeedAKey_WhileHealthAndMetricsStayOpen()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/models", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/models/sensor-anomaly/reload", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/health/ready", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/metrics", null)).StatusCode);
    }

    [Fact]
    public async Task Swagger_CanBeHidden()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/swagger/v1/swagger.json", null)).StatusCode);
    }
}
