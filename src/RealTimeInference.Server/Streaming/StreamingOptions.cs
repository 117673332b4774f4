namespace RealTimeInference.Server.Streaming;

/// <summary>The SSE prediction stream: per-subscriber buffers, replay for resume, heartbeats.</summary>
public sealed class StreamingOptions
{
    public const string Section = "Streaming";

    /// <summary>Events buffered per subscriber; past it the subscriber loses its oldest events (counted, told in-band).</summary>
    public int SubscriberBufferSize { get; set; } = 1024;

    /// <summary>Rows waiting to be streamed; past it new predictions are not streamed (counted as <c>hub_overflow</c>).</summary>
    public int OutboxCapacity { get; set; } = 65_536;

    /// <summary>Most recent events kept so a client reconnecting with Last-Event-ID misses nothing.</summary>
    public int ReplayCapacity { get; set; } = 4096;

    /// <summary>How long the replay buffer keeps recording after the last subscriber leaves (a reconnect window).</summary>
    public TimeSpan ReplayRetention { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>An idle stream sends a <c>heartbeat</c> event this often, so proxies keep it open.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A subscriber woken by a new event waits this long to send what else arrives with it: one
    /// wake-up per interval instead of one per event, which keeps many subscribers cheap at high
    /// rates. 0 sends each event as it comes.
    /// </summary>
    public TimeSpan CoalesceInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Most concurrent SSE subscribers; more get 503 with Retry-After.</summary>
    public int MaxSubscribers { get; set; } = 1000;

    /// <summary>Retry-After, in seconds, sent with 503 when a stream limit is reached.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}

/// <summary>WS /ws/predict limits.</summary>
public sealed class WebSocketPredictOptions
{
    public const string Section = "WebSockets";

    /// <summary>Largest message in bytes; a larger one closes the socket with 1009 (message too big).</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Concurrent sockets; past it the upgrade is refused with 503 and Retry-After.</summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Messages of one connection being scored or waiting to be sent; receiving pauses at this many.</summary>
    public int MaxInFlightPerConnection { get; set; } = 64;

    /// <summary>Server ping interval.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A client that answers no ping for this long is dropped.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
