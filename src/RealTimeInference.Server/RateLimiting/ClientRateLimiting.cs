using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.RateLimiting;

public sealed class ClientRateLimitOptions
{
    public const string Section = "RateLimiting";

    /// <summary>Off by default: a single fab gateway may legitimately send tens of thousands of readings a second.</summary>
    public bool Enabled { get; set; }

    /// <summary>Requests a client may send at once (the bucket's size).</summary>
    public int TokenLimit { get; set; } = 2_000;

    /// <summary>Requests added back to each client's bucket every <see cref="ReplenishmentPeriod"/>.</summary>
    public int TokensPerPeriod { get; set; } = 1_000;

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// A token bucket per client — by <c>X-Client-Id</c>, else <c>X-Api-Key</c>, else remote address —
/// so one client's flood is answered 429 with Retry-After while the others go on unaffected.
/// </summary>
internal static class ClientRateLimiting
{
    public const string Policy = "per-client";

    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<ClientRateLimitOptions>()
            .BindConfiguration(ClientRateLimitOptions.Section)
            .Validate(o => o.TokenLimit >= 1 && o.TokensPerPeriod >= 1, "RateLimiting:TokenLimit and TokensPerPeriod must be at least 1.")
            .Validate(o => o.ReplenishmentPeriod > TimeSpan.Zero, "RateLimiting:ReplenishmentPeriod must be positive.")
            .ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<ClientRateLimitOptions>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(ClientKey(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.TokenLimit,
                    TokensPerPeriod = options.TokensPerPeriod,
                    ReplenishmentPeriod = options.ReplenishmentPeriod,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var response = rejected.HttpContext.Response;
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                await rejected.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = rejected.HttpContext,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Rate limited",
                        Detail = "This client sent more requests than its rate allows; retry after the interval in Retry-After.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>Applies the per-client policy to a group when it is enabled; when it is not, the group pays nothing for it.</summary>
    public static RouteGroupBuilder WithClientRateLimit(this RouteGroupBuilder group, IServiceProvider services) =>
        services.GetRequiredService<IOptions<ClientRateLimitOptions>>().Value.Enabled ? group.RequireRateLimiting(Policy) : group;

    private static string ClientKey(HttpContext context) =>
        context.Request.Headers["X-Client-Id"] is { Count: > 0 } id ? "id:" + id
        : context.Request.Headers["X-Api-Key"] is { Count: > 0 } key ? "key:" + key
        : "ip:" + context.Connection.RemoteIpAddress;
}
