namespace RealTimeInference.Results.Alerts;

public sealed class AlertOptions
{
    public const string Section = "Alerts";

    /// <summary>The last predictions of a tool's sensor that the rule looks at (at most 32).</summary>
    public int Window { get; set; } = 5;

    /// <summary>Anomalies within the window that open an alert.</summary>
    public int FireAnomalies { get; set; } = 3;

    /// <summary>Normal predictions in a row that resolve an open alert.</summary>
    public int ResolveAfterNormal { get; set; } = 10;

    /// <summary>
    /// What makes one alert: its group's every sensor and rule joins it while it is open. Any of
    /// <c>tool_id</c>, <c>chamber_id</c>, <c>sensor_id</c> (the sensor, model or rule's value); by default one alert per chamber episode.
    /// </summary>
    public List<string> GroupBy { get; set; } = ["tool_id", "chamber_id"];

    /// <summary>Alerts one group may open within <see cref="FloodWindowMinutes"/>; past it, further ones fold into one flood alert, counted.</summary>
    public int FloodThreshold { get; set; } = 3;

    /// <summary>The window <see cref="FloodThreshold"/> counts in; a flood alert resolves when none folded into it for as long.</summary>
    public int FloodWindowMinutes { get; set; } = 10;

    /// <summary>
    /// Steps an alert's timeline keeps of sensors joining it and episodes folding into it: past them those
    /// still change its sensors, rules, score and fold count, but add no step (nor a change to store or
    /// stream), so that a flood that folds thousands of episodes stays as small as its first. State changes
    /// and operators' steps are always kept.
    /// </summary>
    public int MaxTimelineSteps { get; set; } = 100;

    /// <summary>Longest a shelve may silence a group.</summary>
    public int MaxShelveMinutes { get; set; } = 12 * 60;

    /// <summary>Tool and sensor pairs the rule follows at once (only those with an anomaly in their window or an open alert are kept).</summary>
    public int MaxTrackedSensors { get; set; } = 100_000;

    /// <summary>Resolved alerts kept in memory for <c>GET /alerts</c>, newest first; older ones stay in the store.</summary>
    public int KeepResolved { get; set; } = 10_000;

    /// <summary>At or above this score when it opens, an alert is critical (so is any opened by emergency-class work).</summary>
    public double CriticalScore { get; set; } = 0.95;
}
