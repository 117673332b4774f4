namespace RealTimeInference.Results.Alerts;

public enum AlertState
{
    Firing,
    Acknowledged,
    Resolved,
}

public enum AlertSeverity
{
    Warning,
    Critical,
}

/// <summary>The wire names of states and severities, the same in the API, the stream and every notification.</summary>
public static class AlertNames
{
    public static string Name(this AlertState state) => state switch
    {
        AlertState.Firing => "firing",
        AlertState.Acknowledged => "acknowledged",
        _ => "resolved",
    };

    public static string Name(this AlertSeverity severity) => severity == AlertSeverity.Critical ? "critical" : "warning";
}

/// <summary>
/// One step of an alert's life: <c>fired</c>, <c>joined</c> (a sensor joined a tool-level alert),
/// <c>acknowledged</c> (by whom, with a note) or <c>resolved</c>; the sensor and the score that caused it, when one did.
/// </summary>
public sealed record AlertEvent(DateTimeOffset Time, string Kind, string? SensorId = null, float? Score = null, string? By = null, string? Note = null);

/// <summary>
/// An alert as it stands, copied out of the book (immutable). <c>SensorId</c> is null for a
/// tool-level alert, which the <c>Sensors</c> joined; <c>MaxScore</c> is the highest score seen while it was open.
/// </summary>
public sealed record AlertView(
    long Id,
    string? ToolId,
    string? SensorId,
    string Model,
    AlertSeverity Severity,
    AlertState State,
    DateTimeOffset StartedAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? ResolvedAt,
    float MaxScore,
    IReadOnlyList<string?> Sensors,
    IReadOnlyList<AlertEvent> Timeline)
{
    public bool IsOpen => State != AlertState.Resolved;
}

/// <summary>What changed: the alert after the change, and the step that changed it.</summary>
public sealed record AlertChange(AlertView Alert, AlertEvent Event);
