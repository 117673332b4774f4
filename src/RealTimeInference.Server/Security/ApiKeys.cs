using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Security;

public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Keys accepted in <c>X-Api-Key</c> on the predict and model endpoints; none means no key is asked for.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Ask for a key on /metrics too (Prometheus then needs it configured as a header).</summary>
    public bool ProtectMetrics { get; set; }

    /// <summary>Serve Swagger UI and the OpenAPI document at /swagger.</summary>
    public bool ExposeSwagger { get; set; } = true;
}

/// <summary>
/// Checks <c>X-Api-Key</c> against the configured keys. Digests are compared in constant time, so
/// neither a key's bytes nor its length leak through timing.
/// </summary>
internal sealed class ApiKeyFilter(IReadOnlyList<byte[]> digests) : IEndpointFilter
{
    public const string Header = "X-Api-Key";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers[Header].ToString()));
        var accepted = false;
        foreach (var digest in digests)
        {
            accepted |= CryptographicOperations.FixedTimeEquals(presented, digest);
        }

        if (accepted)
        {
            return next(context);
        }

        context.HttpContext.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{Header}\"";
        return ValueTask.FromResult<object?>(TypedResults.Problem(
            $"Send a valid API key in the {Header} header.", statusCode: StatusCodes.Status401Unauthorized, title: "API key required"));
    }
}

internal static class ApiKeys
{
    public static IServiceCollection AddApiKeys(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>()
            .BindConfiguration(SecurityOptions.Section)
            .Validate(o => o.ApiKeys.All(k => k.Length >= 16), "Security:ApiKeys must each be at least 16 characters.")
            .ValidateOnStart();
        return services;
    }

    /// <summary>Asks for a key on the group when keys are configured; otherwise the group pays nothing.</summary>
    public static TBuilder WithApiKey<TBuilder>(this TBuilder builder, IServiceProvider services, bool protect = true)
        where TBuilder : IEndpointConventionBuilder
    {
        var keys = services.GetRequiredService<IOptions<SecurityOptions>>().Value.ApiKeys;
        if (protect && keys.Count > 0)
        {
            var filter = new ApiKeyFilter(keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray());
            builder.AddEndpointFilter(filter);
        }

        return builder;
    }
}
