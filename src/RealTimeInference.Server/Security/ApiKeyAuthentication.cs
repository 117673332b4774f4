using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Security;

/// <summary>
/// The configured keys as the handler compares them: SHA-256 digests, each with its role and the
/// name its holder is known by (<see cref="ApiKeyOptions.Name"/>, else <c>key-</c> and the digest's first 8 hex digits: never the key itself).
/// </summary>
internal sealed class ApiKeyDigests(IOptions<SecurityOptions> options)
{
    public IReadOnlyList<(byte[] Digest, string Name, string Role)> Keys { get; } =
        [.. options.Value.ApiKeys.Select(k => (Digest: SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k.Name, k.Role))
            .Select(k => (k.Digest, k.Name ?? "key-" + Convert.ToHexStringLower(k.Digest)[..8], k.Role))];

    /// <summary>The key presented, or null. Every digest is compared in constant time, so neither a key's bytes nor its length leak through timing.</summary>
    public (string Name, string Role)? Match(string presented)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        (string, string)? match = null;
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, key.Digest))
            {
                match = (key.Name, key.Role);
            }
        }

        return match;
    }
}

/// <summary>
/// The <c>ApiKey</c> authentication scheme: a request that presents a configured key in
/// <c>X-Api-Key</c> is that key's holder, in that key's role.
/// </summary>
internal sealed class ApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyDigests keys)
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

        if (keys.Match(presented.ToString()) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not one of the configured keys."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role)], SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append("WWW-Authenticate", $"ApiKey header=\"{Header}\"");
        return Task.CompletedTask;
    }
}
