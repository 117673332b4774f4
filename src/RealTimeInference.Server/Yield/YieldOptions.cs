namespace RealTimeInference.Server.Yield;

public sealed class YieldOptions
{
    public const string Section = "Yield";

    /// <summary>The model that forecasts lot yield from a process state.</summary>
    public string Model { get; set; } = "yield-forecast";

    /// <summary>Most process states one /predict-yield request may carry.</summary>
    public int MaxStates { get; set; } = 10_000;

    /// <summary>Largest /predict-yield body, in bytes (413 above it).</summary>
    public long MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Latency class of a request that names none (X-Latency-Class).</summary>
    public string DefaultClass { get; set; } = "yield-forecasting";

    /// <summary>The least Retry-After, in seconds, sent with 503.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
