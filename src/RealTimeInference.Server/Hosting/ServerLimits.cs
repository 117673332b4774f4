using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Hosting;

/// <summary>Kestrel's connection limits: slow or oversized clients are cut off before they cost the models anything.</summary>
public sealed class ServerLimitsOptions
{
    public const string Section = "Server:Limits";

    /// <summary>Largest body any request may send; each endpoint sets its own lower limit (413 above it).</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>A client must finish sending its headers within this (slow-header attacks get 408).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A body must arrive at least this fast, after <see cref="MinRequestBodyGracePeriod"/>, or the connection is closed.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    public TimeSpan MinRequestBodyGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    public int MaxRequestHeadersTotalBytes { get; set; } = 32 * 1024;

    /// <summary>Open connections allowed at once; unset: no limit.</summary>
    public long? MaxConcurrentConnections { get; set; }
}

internal static class ServerLimits
{
    public static IServiceCollection AddServerLimits(this IServiceCollection services)
    {
        services.AddOptions<ServerLimitsOptions>()
            .BindConfiguration(ServerLimitsOptions.Section)
            .Validate(o => o.MaxRequestBodyBytes >= 1024, "Server:Limits:MaxRequestBodyBytes must be at least 1024.")
            .Validate(
                // Kestrel checks the rate once a second, so it takes only grace periods longer than that.
                o => o.RequestHeadersTimeout > TimeSpan.Zero && o.KeepAliveTimeout > TimeSpan.Zero && o.MinRequestBodyGracePeriod > TimeSpan.FromSeconds(1),
                "Server:Limits: RequestHeadersTimeout and KeepAliveTimeout must be positive, MinRequestBodyGracePeriod more than 1 s.")
            .Validate(o => o.MinRequestBodyBytesPerSecond > 0, "Server:Limits:MinRequestBodyBytesPerSecond must be positive.")
            .Validate(o => o.MaxRequestHeadersTotalBytes >= 1024, "Server:Limits:MaxRequestHeadersTotalBytes must be at least 1024.")
            .Validate(o => o.MaxConcurrentConnections is null or >= 1, "Server:Limits:MaxConcurrentConnections must be at least 1 when set.")
            .ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerLimitsOptions>>((kestrel, configured) =>
        {
            var limits = configured.Value;
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(limits.MinRequestBodyBytesPerSecond, limits.MinRequestBodyGracePeriod);
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalBytes;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        });
        return services;
    }
}
