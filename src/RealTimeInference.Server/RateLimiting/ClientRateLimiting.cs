using System.Threading.RateLimiting;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Server.Transport;

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

    /// <summary>
    /// The share of its client's bucket each <c>X-Client-Id</c> may use: below 1, the ids a gateway
    /// sends subdivide its budget (each gets this share), never add to it. 1: the id is not used.
    /// </summary>
    public double ClientIdShare { get; set; } = 1;
}

/// <summary>
/// A token bucket per client (<see cref="ClientIdentity"/>), so one client's flood is answered 429 with
/// Retry-After while the others go on unaffected. <c>X-Client-Id</c> may only subdivide a client's
/// bucket (<see cref="ClientRateLimitOptions.ClientIdShare"/>). HTTP requests spend a token in the
/// rate-limiting middleware; the sockets spend one per message (<see cref="TryAcquire"/>).
/// </summary>
internal sealed class ClientLimiter : IDisposable
{
    public const string ClientIdHeader = "X-Client-Id";

    public ClientLimiter(IOptions<ClientRateLimitOptions> options)
    {
        var settings = options.Value;
        // Off: no request pays for a partition look-up. The id's own bucket first: a request it refuses takes nothing from the client's.
        Limiter = !settings.Enabled ? null
            : settings.ClientIdShare < 1 ? PartitionedRateLimiter.CreateChained(ClientIds(settings), Clients(settings))
            : Clients(settings);
    }

    public PartitionedRateLimiter<HttpContext>? Limiter { get; }

    /// <summary>Spends one token of the client behind <paramref name="context"/> (a socket's upgrade request) on one more message.</summary>
    public bool TryAcquire(HttpContext context, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (Limiter is null)
        {
            return true;
        }

        using var lease = Limiter.AttemptAcquire(context);
        if (!lease.IsAcquired && lease.TryGetMetadata(MetadataName.RetryAfter, out var after))
        {
            retryAfter = after;
        }

        return lease.IsAcquired;
    }

    public void Dispose() => Limiter?.Dispose();

    private static PartitionedRateLimiter<HttpContext> Clients(ClientRateLimitOptions options) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context => IsLimited(context)
            ? RateLimitPartition.GetTokenBucketLimiter(ClientIdentity.Of(context), _ => Bucket(options.TokenLimit, options.TokensPerPeriod, options.ReplenishmentPeriod))
            : RateLimitPartition.GetNoLimiter(""));

    private static PartitionedRateLimiter<HttpContext> ClientIds(ClientRateLimitOptions options) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context => IsLimited(context) && context.Request.Headers[ClientIdHeader] is { Count: > 0 } id
            ? RateLimitPartition.GetTokenBucketLimiter(
                ClientIdentity.Of(context) + "/" + id,
                _ => Bucket(Share(options.TokenLimit, options.ClientIdShare), Share(options.TokensPerPeriod, options.ClientIdShare), options.ReplenishmentPeriod))
            : RateLimitPartition.GetNoLimiter(""));

    private static bool IsLimited(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<ClientRateLimiting.Limited>() is not null;

    private static int Share(int tokens, double share) => Math.Max(1, (int)(tokens * share));

    private static TokenBucketRateLimiterOptions Bucket(int limit, int perPeriod, TimeSpan period) => new()
    {
        TokenLimit = limit,
        TokensPerPeriod = perPeriod,
        ReplenishmentPeriod = period,
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}

internal static class ClientRateLimiting
{
    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<ClientRateLimitOptions>()
            .BindConfiguration(ClientRateLimitOptions.Section)
            .Validate(o => o.TokenLimit >= 1 && o.TokensPerPeriod >= 1, "RateLimiting:TokenLimit and TokensPerPeriod must be at least 1.")
            .Validate(o => o.ReplenishmentPeriod > TimeSpan.Zero, "RateLimiting:ReplenishmentPeriod must be positive.")
            .Validate(o => o.ClientIdShare is > 0 and <= 1, "RateLimiting:ClientIdShare must be within (0, 1].")
            .ValidateOnStart();
        services.AddSingleton<ClientLimiter>();
        services.AddOptions<RateLimiterOptions>().Configure<ClientLimiter>((limiter, clients) =>
        {
            limiter.GlobalLimiter = clients.Limiter;
            limiter.OnRejected = (rejected, _) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.Zero;
                return GrpcRefusal.IsGrpc(rejected.HttpContext)
                    ? GrpcRefusal.WriteAsync(rejected.HttpContext, Outcome.RateLimited, "The client's rate limit is spent.", retryAfter, leastRetryAfterSeconds: 1)
                    : new ValueTask(Problems.For(rejected.HttpContext, Outcome.RateLimited, retryAfter, leastRetryAfterSeconds: 1).ExecuteAsync(rejected.HttpContext));
            };
        });
        services.AddRateLimiter(_ => { });
        return services;
    }

    /// <summary>Limits the group's endpoints (and its sockets' messages) when rate limiting is enabled; when it is not, they pay nothing for it.</summary>
    public static RouteGroupBuilder WithClientRateLimit(this RouteGroupBuilder group, IServiceProvider services) =>
        services.GetRequiredService<IOptions<ClientRateLimitOptions>>().Value.Enabled ? group.WithMetadata(Limited.Instance) : group;

    /// <summary>The same for a gRPC service's methods that <paramref name="limits"/> names.</summary>
    public static GrpcServiceEndpointConventionBuilder WithClientRateLimit(
        this GrpcServiceEndpointConventionBuilder service, IServiceProvider services, Func<string, bool> limits)
    {
        if (services.GetRequiredService<IOptions<ClientRateLimitOptions>>().Value.Enabled)
        {
            service.Add(endpoint =>
            {
                if (endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault() is { } method && limits(method.Method.Name))
                {
                    endpoint.Metadata.Add(Limited.Instance);
                }
            });
        }

        return service;
    }

    /// <summary>Endpoint metadata: the endpoint counts against its client's bucket.</summary>
    internal sealed class Limited
    {
        public static readonly Limited Instance = new();
    }
}
