using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RealTimeInference.Server.OpenInference.Grpc;
using RealTimeInference.Server.Tests.OpenInference;

namespace RealTimeInference.Server.Tests.Security;

/// <summary>A key per role (the viewer's with no name: known by its digest), and JWT bearer tokens signed with a shared key.</summary>
public sealed class SecuredServerFixture : ServerFixture
{
    public const string ViewerKey = "viewer-key-000000000001";
    public const string OperatorKey = "operator-key-0000000002";
    public const string EngineerKey = "engineer-key-0000000003";
    public const string IngestKey = "ingest-key-000000000004";
    public const string SigningKey = "a-signing-key-of-at-least-32-characters!";
    public const string Issuer = "https://idp.fab-07.example";
    public const string Audience = "realtime-inference";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Security:ApiKeys:0:Key", ViewerKey),
        new("Security:ApiKeys:0:Role", "viewer"),
        new("Security:ApiKeys:1:Key", OperatorKey),
        new("Security:ApiKeys:1:Role", "operator"),
        new("Security:ApiKeys:1:Name", "operator-shift-b"),
        new("Security:ApiKeys:2:Key", EngineerKey),
        new("Security:ApiKeys:2:Role", "engineer"),
        new("Security:ApiKeys:2:Name", "process-engineering"),
        new("Security:ApiKeys:3:Key", IngestKey),
        new("Security:ApiKeys:3:Role", "ingest"),
        new("Security:ApiKeys:3:Name", "fab-gateway"),
        new("Security:Jwt:SigningKey", SigningKey),
        new("Security:Jwt:Issuer", Issuer),
        new("Security:Jwt:Audience", Audience),
        new("Security:ExposeSwagger", "false"),
    ];

    /// <summary>A token as the fab's identity provider would issue it.</summary>
    public static string Token(
        string subject, string[] roles, TimeSpan? lifetime = null, string signingKey = SigningKey, string audience = Audience)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["role"] = roles };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.AddMinutes(-10),
            NotBefore = now.AddMinutes(-10),
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(5)),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}

/// <summary>Roles on every state change: who may read, acknowledge, steer and send, by API key and by JWT.</summary>
public sealed class RoleTests(SecuredServerFixture server) : IClassFixture<SecuredServerFixture>
{
    private const string Reading = """{"temperature":350,"pressure":1013,"flow_rate":100}""";

    private readonly HttpClient _client = server.CreateClient();

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key = null, string? token = null, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return _client.SendAsync(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("viewer-key-000000000002")]
    [InlineData("viewer-key-0000000000011")]
    public async Task WithoutAValidKey_Returns401Problem_NamingBothWays(string? key)
    {
        var response = await SendAsync(HttpMethod.Post, "/predict", key, body: Reading);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("X-Api-Key", challenge, StringComparison.Ordinal);
        Assert.Contains("Bearer", challenge, StringComparison.Ordinal);
    }

    [Theory]
    // Reading: every role but ingest.
    [InlineData("GET", "/models", "viewer operator engineer")]
    [InlineData("GET", "/alerts", "viewer operator engineer")]
    [InlineData("GET", "/optimizer", "viewer operator engineer")]
    [InlineData("GET", "/predictions?limit=1", "viewer operator engineer")]
    [InlineData("GET", "/v2/models/sensor-anomaly", "viewer operator engineer")]
    // Acknowledging (an unknown alert: 404 once allowed), asking for a recommendation: operators.
    [InlineData("POST", "/alerts/999999999/ack", "operator engineer")]
    [InlineData("POST", "/optimizer/tools/no-such-tool/recommend", "operator engineer")]
    // Steering the process and the models: engineers.
    [InlineData("PUT", "/optimizer/mode", "engineer")]
    [InlineData("POST", "/optimizer/tools/no-such-tool/apply", "engineer")]
    [InlineData("POST", "/models/sensor-anomaly/reload", "engineer")]
    [InlineData("POST", "/v2/repository/models/sensor-anomaly/unload", "engineer")]
    // Sending readings: ingest (and engineers).
    [InlineData("POST", "/predict", "ingest engineer")]
    [InlineData("POST", "/predict-batch", "ingest engineer")]
    [InlineData("POST", "/v2/models/sensor-anomaly/infer", "ingest engineer")]
    public async Task EachRole_MayDoItsOwn_AndIsRefused403Otherwise(string method, string path, string allowed)
    {
        var body = path switch
        {
            "/predict" => Reading,
            "/predict-batch" => $"[{Reading}]",
            "/optimizer/mode" => """{"mode":"advisory"}""",
            "/alerts/999999999/ack" => """{"by":"someone"}""",
            _ when path.EndsWith("/infer", StringComparison.Ordinal) => """{"inputs":[{"name":"Features","shape":[1,3],"datatype":"FP32","data":[350,1013,100]}]}""",
            _ => null,
        };
        var keys = new Dictionary<string, string>
        {
            ["viewer"] = SecuredServerFixture.ViewerKey,
            ["operator"] = SecuredServerFixture.OperatorKey,
            ["engineer"] = SecuredServerFixture.EngineerKey,
            ["ingest"] = SecuredServerFixture.IngestKey,
        };
        foreach (var (role, key) in keys)
        {
            var response = await SendAsync(new HttpMethod(method), path, key, body: body);
            if (allowed.Split(' ').Contains(role))
            {
                Assert.True(
                    response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{role} {method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{role} {method} {path}: {(int)response.StatusCode}");
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(403, problem.GetProperty("status").GetInt32());
                Assert.Contains("role", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task BearerTokens_CarryTheRole_AndBadOnesAre401()
    {
        var engineer = SecuredServerFixture.Token("eng-anna", ["engineer"]);
        var viewer = SecuredServerFixture.Token("view-bo", ["viewer"]);
        var mode = """{"mode":"advisory"}""";

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Put, "/optimizer/mode", token: engineer, body: mode)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/models", token: viewer)).StatusCode);
        var refused = await SendAsync(HttpMethod.Put, "/optimizer/mode", token: viewer, body: mode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("view-bo", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        foreach (var bad in new[]
        {
            SecuredServerFixture.Token("eng-anna", ["engineer"], lifetime: TimeSpan.FromMinutes(-5)),
            SecuredServerFixture.Token("eng-anna", ["engineer"], signingKey: "another-signing-key-of-32-characters!!"),
            SecuredServerFixture.Token("eng-anna", ["engineer"], audience: "another-service"),
            "not.a.token",
        })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Put, "/optimizer/mode", token: bad, body: mode)).StatusCode);
        }

        // A role the product does not have grants nothing.
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, "/models", token: SecuredServerFixture.Token("x", ["admin"]))).StatusCode);
    }

    [Fact]
    public async Task WhoAcknowledged_IsTheAuthenticatedCaller_NotTheNameInTheBody()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var count in new[] { 2, 3 })
        {
            var readings = string.Join(',', Enumerable.Range(0, count).Select(_ =>
                $$"""{"tool_id":"{{tool}}","sensor_id":"chamber-temp","temperature":420,"pressure":1013,"flow_rate":100}"""));
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/predict-batch", SecuredServerFixture.IngestKey, body: $"[{readings}]")).StatusCode);
        }

        var alerts = await (await SendAsync(HttpMethod.Get, $"/alerts?tool_id={tool}", SecuredServerFixture.ViewerKey)).Content.ReadFromJsonAsync<JsonElement>();
        var id = Assert.Single(alerts.GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64();

        var ack = await SendAsync(HttpMethod.Post, $"/alerts/{id}/ack", SecuredServerFixture.OperatorKey, body: """{"by":"the-plant-manager","note":"vented"}""");

        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("operator-shift-b", (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("timeline")[1].GetProperty("by").GetString());
    }

    [Fact]
    public async Task WhoApplied_IsTheTokensSubject()
    {
        var token = SecuredServerFixture.Token("eng-anna", ["engineer"]);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Put, "/optimizer/mode", token: token, body: """{"mode":"advisory"}""")).StatusCode);
        var view = await (await SendAsync(HttpMethod.Get, "/optimizer", token: token)).Content.ReadFromJsonAsync<JsonElement>();
        var tool = view.GetProperty("tools")[1].GetProperty("tool_id").GetString();

        var recommend = await SendAsync(HttpMethod.Post, $"/optimizer/tools/{tool}/recommend", token: token);
        Assert.Equal(HttpStatusCode.OK, recommend.StatusCode);
        var apply = await SendAsync(HttpMethod.Post, $"/optimizer/tools/{tool}/apply", token: token);

        Assert.Equal(HttpStatusCode.OK, apply.StatusCode);
        Assert.Equal("eng-anna", (await apply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("applied_by").GetString());
    }

    [Fact]
    public async Task Health_StaysOpen_AndSaysTheServerAsksForRoles()
    {
        var ready = await SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var security = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("security");
        Assert.Equal("roles", security.GetProperty("data").GetProperty("mode").GetString());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/swagger/v1/swagger.json")).StatusCode);
    }

    [Fact]
    public async Task Grpc_UsesTheSamePolicies()
    {
        using var channel = GrpcChannel.ForAddress(server.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.Server.CreateHandler() });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = GrpcInferenceTests.OneReading();
        Metadata Key(string key) => new() { { "x-api-key", key } };

        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(request).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(request, Key(SecuredServerFixture.ViewerKey)).ResponseAsync)).StatusCode);
        Assert.Single((await client.ModelInferAsync(request, Key(SecuredServerFixture.IngestKey))).Outputs);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() => client.ServerMetadataAsync(new ServerMetadataRequest()).ResponseAsync)).StatusCode);
        Assert.Equal("realtime-inference", (await client.ServerMetadataAsync(new ServerMetadataRequest(), Key(SecuredServerFixture.ViewerKey))).Name);
    }

    /// <summary>
    /// Every endpoint the app maps, gRPC methods included, asks for a role, but the probes, /metrics
    /// (unless Security:ProtectMetrics) and the inspection page; and every one that changes state
    /// (or takes readings) asks for more than the viewer's: a new endpoint cannot forget it.
    /// </summary>
    [Fact]
    public void EveryEndpoint_AsksForARole_AndEveryStateChange_ForMoreThanViewing()
    {
        string[] open = ["/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready", "/metrics", "/inspect",
            "/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady"];
        // POSTs that read: Triton's index, and gRPC's metadata and readiness calls (every gRPC call is a POST).
        string[] readingPosts = ["/v2/repository/index", "/inference.GRPCInferenceService/ServerMetadata",
            "/inference.GRPCInferenceService/ModelMetadata", "/inference.GRPCInferenceService/ModelReady"];
        string[] roles = ["viewer", "operator", "engineer", "ingest"];
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.Contains("unimplemented", StringComparison.Ordinal) != true)
            .ToList();
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/inference.GRPCInferenceService/ModelInfer");
        Assert.True(endpoints.Count > 40, $"{endpoints.Count} endpoints");

        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"];
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            if (open.Contains(path))
            {
                Assert.Empty(policies);
                continue;
            }

            if (policies.Count == 0 || policies.Any(p => !roles.Contains(p)))
            {
                failures.Add($"{string.Join(",", methods)} {path}: no role ({string.Join(",", policies)})");
            }

            var changesState = !readingPosts.Contains(path) && methods.Any(m => m is not ("GET" or "HEAD"));
            if (changesState && policies.All(p => p == "viewer"))
            {
                failures.Add($"{string.Join(",", methods)} {path}: changes state with only the viewer role");
            }
        }

        Assert.Empty(failures);
    }
}

/// <summary>A server with no keys and no tokens is open, and says so.</summary>
public sealed class OpenServerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Open_AnswersEveryCaller_AndSaysSoOnReady()
    {
        var client = server.CreateClient();
        var ready = await client.GetFromJsonAsync<JsonElement>("/health/ready");

        var security = ready.GetProperty("checks").GetProperty("security");
        Assert.Equal("open", security.GetProperty("data").GetProperty("mode").GetString());
        Assert.Contains("Open", security.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/models")).StatusCode);
    }

    [Theory]
    [InlineData("Security:ApiKeys:0:Role", "admin", "Security:ApiKeys:0:Role must be one of viewer, operator, engineer, ingest")]
    [InlineData("Security:ApiKeys:0:Key", "short", "Security:ApiKeys:0:Key must be at least 16 characters")]
    [InlineData("Security:Jwt:SigningKey", "too-short", "Security:Jwt:SigningKey must be at least 32 characters")]
    public void BadSecurityConfiguration_FailsTheStart_NamingTheField(string field, string value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Security:ApiKeys:0:Key"] = "a-key-long-enough-0001",
            ["Security:ApiKeys:0:Role"] = "viewer",
            [field] = value,
        };
        using var bad = new ConfiguredServerFixture(settings);

        var error = Assert.ThrowsAny<Exception>(() => bad.CreateClient());
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }

    private sealed class ConfiguredServerFixture(IReadOnlyDictionary<string, string?> settings) : ServerFixture
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings => settings;
    }
}
