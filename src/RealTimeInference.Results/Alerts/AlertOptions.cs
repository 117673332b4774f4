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

    /// <summary>Open sensor alerts a tool may have; past it, its further sensors join one tool-level alert.</summary>
    public int MaxFiringPerTool { get; set; } = 5;

    /// <summary>Tool and sensor pairs the rule follows at once (only those with an anomaly in their window or an open alert are kept).</summary>
    public int MaxTrackedSensors { get; set; } = 100_000;

    /// <summary>Resolved alerts kept in memory for <c>GET /alerts</c>, newest first; older ones stay in the store.</summary>
    public int KeepResolved { get; set; } = 10_000;

    /// <summary>At or above this score when it opens, an alert is critical (so is any opened by emergency-class work).</summary>
    public double CriticalScore { get; set; } = 0.95;
}
