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

    /// <summary>An idle stream sends a <c>: heartbeat</c> comment this often, so proxies keep it open.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A subscriber woken by a new event waits this long to send what else arrives with it: at most
    /// ten writes a second per subscriber instead of one per event, which keeps many subscribers
    /// cheap at high rates (a live page redraws no faster anyway). 0 sends each event as it comes.
    /// </summary>
    public TimeSpan CoalesceInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most concurrent SSE subscribers; more get 503 with Retry-After.</summary>
    public int MaxSubscribers { get; set; } = 1000;

    /// <summary>Retry-After, in seconds, sent with 503 when a stream limit is reached.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
