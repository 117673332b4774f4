using RealTimeInference.Results.Spc;

namespace RealTimeInference.Server.Alerts;

/// <summary>
/// <c>Spc</c>: control charts beside the models. Each monitor watches one value — <c>score</c> (the
/// model's output) or a sensor by name — per context (tool, chamber, recipe, step) of the readings it
/// matches; its chart's limits come from the first <see cref="BaselinePoints"/> points of each
/// context, or from <see cref="SpcMonitor.Mean"/> and <see cref="SpcMonitor.Sigma"/>. A broken rule
/// is an alert condition next to the k-of-n rule: its group's alert names the rule and its points.
/// </summary>
public sealed class SpcOptions
{
    public const string Section = "Spc";

    public List<SpcMonitor> Monitors { get; set; } = [];

    /// <summary>In-control points that set a chart's limits when the monitor configures none.</summary>
    public int BaselinePoints { get; set; } = 30;

    /// <summary>Charts kept at once (one per monitor and context); past it, new contexts are not charted (counted).</summary>
    public int MaxCharts { get; set; } = 100_000;
}

/// <summary>One monitored value, the readings it applies to (patterns as in Routing:Rules), its rules and optionally its limits.</summary>
public sealed class SpcMonitor
{
    /// <summary><c>score</c>, or the name of a sensor value.</summary>
    public string Value { get; set; } = "";

    public string? Tool { get; set; }

    public string? Chamber { get; set; }

    public string? Recipe { get; set; }

    public string? Step { get; set; }

    /// <summary>The rules judged, by name (WE1..WE4, N3, N4, N7, N8); all of them when left out.</summary>
    public List<SpcRule> Rules { get; set; } = [];

    public double? Mean { get; set; }

    public double? Sigma { get; set; }
}
