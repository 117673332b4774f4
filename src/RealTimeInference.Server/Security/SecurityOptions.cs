using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Security;

public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Keys accepted in <c>X-Api-Key</c>, each with its role; with none (and no <see cref="Jwt"/>) the server is open.</summary>
    public IList<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>Bearer tokens (JWT) whose role claim names the role.</summary>
    public JwtOptions Jwt { get; } = new();

    /// <summary>Ask for the viewer role on /metrics too (Prometheus then needs a key configured as a header).</summary>
    public bool ProtectMetrics { get; set; }

    /// <summary>Serve Swagger UI and the OpenAPI document at /swagger.</summary>
    public bool ExposeSwagger { get; set; } = true;

    /// <summary>No keys and no tokens: every endpoint answers every caller (a laptop demo).</summary>
    public bool IsOpen => ApiKeys.Count == 0 && !Jwt.IsConfigured;
}

/// <summary>One API key (<c>Security:ApiKeys:&lt;i&gt;</c>).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The key itself, at least 16 characters.</summary>
    public string Key { get; set; } = "";

    /// <summary>viewer, operator, engineer or ingest.</summary>
    public string Role { get; set; } = "";

    /// <summary>What logs, rate limits and decisions call its holder; default <c>key-</c> and the key's SHA-256's first 8 hex digits, never the key.</summary>
    public string? Name { get; set; }
}

/// <summary>Bearer tokens (<c>Security:Jwt</c>): signed with <see cref="SigningKey"/> (HS256) or by <see cref="Authority"/>'s published keys.</summary>
public sealed class JwtOptions
{
    /// <summary>A shared secret (at least 32 characters) tokens are signed with (HMAC-SHA256).</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect issuer whose discovery document gives the signing keys (instead of <see cref="SigningKey"/>).</summary>
    public string? Authority { get; set; }

    /// <summary>The <c>iss</c> a token must carry; not checked when unset (and no <see cref="Authority"/>).</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> a token must carry; not checked when unset.</summary>
    public string? Audience { get; set; }

    /// <summary>The claim naming the role (one of the four; several claims for several roles).</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>The claim naming the caller (decisions' <c>applied_by</c>, logs, rate limits).</summary>
    public string NameClaim { get; set; } = "sub";

    public bool IsConfigured => !string.IsNullOrEmpty(SigningKey) || !string.IsNullOrEmpty(Authority);
}

/// <summary>Names the field at fault: a key too short, a role that is not one of the four, a signing key too short.</summary>
internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (key.Key.Length < 16)
            {
                errors.Add($"Security:ApiKeys:{i}:Key must be at least 16 characters.");
            }

            if (!Roles.All.Contains(key.Role, StringComparer.Ordinal))
            {
                errors.Add($"Security:ApiKeys:{i}:Role must be one of {string.Join(", ", Roles.All)}, not '{key.Role}'.");
            }
        }

        if (options.ApiKeys.Select(k => k.Key).Distinct(StringComparer.Ordinal).Count() != options.ApiKeys.Count)
        {
            errors.Add("Security:ApiKeys: a key is configured twice.");
        }

        var jwt = options.Jwt;
        if (jwt.SigningKey is { Length: > 0 and < 32 })
        {
            errors.Add("Security:Jwt:SigningKey must be at least 32 characters.");
        }

        if (!string.IsNullOrEmpty(jwt.SigningKey) && !string.IsNullOrEmpty(jwt.Authority))
        {
            errors.Add("Security:Jwt: set SigningKey or Authority, not both.");
        }

        if (jwt.IsConfigured && (string.IsNullOrWhiteSpace(jwt.RoleClaim) || string.IsNullOrWhiteSpace(jwt.NameClaim)))
        {
            errors.Add("Security:Jwt:RoleClaim and NameClaim must name a claim.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
