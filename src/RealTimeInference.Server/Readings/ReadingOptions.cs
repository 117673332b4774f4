namespace RealTimeInference.Server.Readings;

/// <summary>How <c>POST /readings</c> takes readings with their context.</summary>
public sealed class ReadingOptions
{
    public const string Section = "Readings";

    /// <summary>Most readings one request may carry (413 above it).</summary>
    public int MaxReadings { get; set; } = 10_000;

    /// <summary>Largest body, in bytes (413 above it): 10,000 readings of 20 sensors with their context fit.</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest <c>POST /traces</c> body, in bytes (413 above it).</summary>
    public long MaxTraceBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Most samples one trace may carry, over all its sensors.</summary>
    public int MaxTracePoints { get; set; } = 1_000_000;

    /// <summary>Latency class of a request that names none (X-Latency-Class).</summary>
    public string Class { get; set; } = "process-control";
}

/// <summary>
/// <c>Routing:Rules</c>: which model scores a reading, by its context. The first rule whose every
/// given field matches wins; a field left out, or <c>*</c>, matches anything, and <c>*</c> inside a
/// pattern any run of characters (<c>etch-*</c>). The model may name context fields —
/// <c>fdc-{tool}-{chamber}</c> — so one rule routes every chamber to its own model.
/// </summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    public List<RouteRule> Rules { get; set; } = [];

    /// <summary>Rules tried first for a wafer's trace (<c>POST /traces</c>), whose models take step statistics; then <see cref="Rules"/>.</summary>
    public List<RouteRule> Traces { get; set; } = [];
}

/// <summary>One routing rule: the context it matches, and the model (or model name template) it names.</summary>
public sealed class RouteRule
{
    public string? Tool { get; set; }

    public string? Chamber { get; set; }

    public string? Recipe { get; set; }

    public string? Step { get; set; }

    public string Model { get; set; } = "";
}
