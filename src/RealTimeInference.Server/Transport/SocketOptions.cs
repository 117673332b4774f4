namespace RealTimeInference.Server.Transport;

/// <summary>The server's WebSockets: <c>/ws/predict</c>'s limits, and the cap and pings both sockets share.</summary>
public sealed class SocketOptions
{
    public const string Section = "WebSockets";

    /// <summary>Largest <c>/ws/predict</c> message in bytes; a larger one closes the socket with 1009 (message too big).</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Concurrent sockets, <c>/ws/predict</c> and <c>/ws/webcam</c> together; past it the upgrade is refused with 503 and Retry-After.</summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary><c>/ws/predict</c> messages of one connection being scored or waiting to be sent; receiving pauses at this many.</summary>
    public int MaxInFlightPerConnection { get; set; } = 64;

    /// <summary>Server ping interval.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A client that answers no ping for this long is dropped.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retry-After, in seconds, sent with the 503 that refuses a socket past <see cref="MaxConnections"/>.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// Bytes all sockets together may hold for the messages they receive: a socket whose message
    /// needs more once it is spent is closed with 1009 (and counted), so a thousand clients that
    /// never finish their messages cannot exhaust the server's memory.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 256L * 1024 * 1024;
}

internal static class SocketDefaults
{
    /// <summary>The socket options and the shared connection cap; each socket feature calls it.</summary>
    public static IServiceCollection AddSocketDefaults(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(WebSocketSlots)))
        {
            return services;
        }

        services.AddOptions<SocketOptions>()
            .BindConfiguration(SocketOptions.Section)
            .Validate(o => o.MaxMessageBytes is >= 64 and <= 64 * 1024 * 1024, "WebSockets:MaxMessageBytes must be within 64..67108864.")
            .Validate(o => o.MaxConnections >= 1, "WebSockets:MaxConnections must be at least 1.")
            .Validate(o => o.MaxInFlightPerConnection is >= 1 and <= 10_000, "WebSockets:MaxInFlightPerConnection must be within 1..10000.")
            .Validate(o => o.KeepAliveInterval > TimeSpan.Zero && o.KeepAliveTimeout > TimeSpan.Zero, "WebSockets:KeepAliveInterval and KeepAliveTimeout must be positive.")
            .Validate(o => o.RetryAfterSeconds >= 1, "WebSockets:RetryAfterSeconds must be at least 1.")
            .Validate(o => o.MaxBufferedBytes >= 64 * 1024, "WebSockets:MaxBufferedBytes must be at least 65536.")
            .ValidateOnStart();
        services.AddSingleton<WebSocketSlots>();
        services.AddSingleton<SocketMemory>();
        return services;
    }
}
