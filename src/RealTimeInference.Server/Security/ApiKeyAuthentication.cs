using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Security;

public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Keys accepted in <c>X-Api-Key</c> on the predict, stream and model endpoints; none means no key is asked for.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Ask for a key on /metrics too (Prometheus then needs it configured as a header).</summary>
    public bool ProtectMetrics { get; set; }

    /// <summary>Serve Swagger UI and the OpenAPI document at /swagger.</summary>
    public bool ExposeSwagger { get; set; } = true;
}

/// <summary>
/// The configured keys as the handler compares them: SHA-256 digests, each with the name its
/// holder is known by (<c>key-</c> and the digest's first 8 hex digits: never the key itself).
/// </summary>
internal sealed class ApiKeyDigests(IOptions<SecurityOptions> options)
{
    public IReadOnlyList<(byte[] Digest, string Name)> Keys { get; } =
        [.. options.Value.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).Select(d => (d, "key-" + Convert.ToHexStringLower(d)[..8]))];

    /// <summary>The name of the key presented, or null. Every digest is compared in constant time, so neither a key's bytes nor its length leak through timing.</summary>
    public string? Match(string presented)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        string? name = null;
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, key.Digest))
            {
                name = key.Name;
            }
        }

        return name;
    }
}

/// <summary>
/// The <c>ApiKey</c> authentication scheme: a request that presents a configured key in
/// <c>X-Api-Key</c> is that key's holder: the identity authorization and the rate limiter use.
/// </summary>
internal sealed class ApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyDigests keys, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(keys.Match(presented.ToString()) is { } name
            ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], SchemeName)), SchemeName))
            : AuthenticateResult.Fail("The API key is not one of the configured keys."));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"ApiKey header=\"{Header}\"";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "API key required",
                Detail = $"Send a valid API key in the {Header} header.",
            },
        });
    }
}

internal static class ApiKeys
{
    public const string Policy = "api-key";

    /// <summary>
    /// The options, the ApiKey scheme and the policy that asks for it. The scheme is not the default:
    /// only the endpoints that require the policy authenticate, so without keys no request pays for it.
    /// </summary>
    public static IServiceCollection AddApiKeys(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>()
            .BindConfiguration(SecurityOptions.Section)
            .Validate(o => o.ApiKeys.All(k => k.Length >= 16), "Security:ApiKeys must each be at least 16 characters.")
            .ValidateOnStart();
        services.AddSingleton<ApiKeyDigests>();
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(ApiKeyHandler.SchemeName).RequireAuthenticatedUser());
        return services;
    }

    /// <summary>Asks for a key on the group when keys are configured; otherwise the group pays nothing.</summary>
    public static TBuilder WithApiKey<TBuilder>(this TBuilder builder, IServiceProvider services, bool protect = true)
        where TBuilder : IEndpointConventionBuilder =>
        protect && services.GetRequiredService<IOptions<SecurityOptions>>().Value.ApiKeys.Count > 0 ? builder.RequireAuthorization(Policy) : builder;
}
