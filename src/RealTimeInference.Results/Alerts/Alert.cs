using RealTimeInference.Inference.Scheduling;

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
/// One step of an alert's life: <c>fired</c>, <c>joined</c> (another sensor or rule of its group),
/// <c>folded</c> (an alert of a flooding group, into its flood alert), <c>acknowledged</c> and
/// <c>shelved</c> (by whom, with a note), or <c>resolved</c>; the sensor (or model, or monitored value) and the score that caused it, when one did.
/// </summary>
public sealed record AlertEvent(DateTimeOffset Time, string Kind, string? SensorId = null, float? Score = null, string? By = null, string? Note = null);

/// <summary>
/// An alert as it stands, copied out of the book (immutable): one per episode of its group (by
/// default a tool's chamber). <c>SensorId</c> is the sensor that opened it (null for a flood alert);
/// <c>Sensors</c> every one abnormal in it now, <c>Rules</c> each rule that fired, as <c>sensor: rule</c>;
/// <c>MaxScore</c> is the highest score seen while it was open.
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

    /// <summary>The chamber of its group, when grouped by chamber and the readings named one.</summary>
    public string? ChamberId { get; init; }

    /// <summary><c>anomaly</c>, or <c>flood</c> for the alert a flooding group's further alerts fold into.</summary>
    public string Kind { get; init; } = AlertGroups.Anomaly;

    /// <summary>Each rule that fired in it, as <c>sensor: rule</c> (<c>s1: 3 of 5</c>, <c>chuck_temp: WE1</c>).</summary>
    public IReadOnlyList<string> Rules { get; init; } = [];

    /// <summary>A flood alert: how many alerts folded into it.</summary>
    public int Folded { get; init; }

    /// <summary>Until when its group is shelved (no new alert, no notification of a joining sensor), when it was.</summary>
    public DateTimeOffset? ShelvedUntil { get; init; }
}

/// <summary>What changed: the alert after the change, and the step that changed it; a quiet change is kept but notifies no one (a fold into a flood alert).</summary>
public sealed record AlertChange(AlertView Alert, AlertEvent Event, bool Quiet = false);

/// <summary>The fields alerts group by, and the kinds of alert.</summary>
public static class AlertGroups
{
    public const string Anomaly = "anomaly";

    public const string Flood = "flood";

    public static IReadOnlyList<string> Fields { get; } = ["tool_id", "chamber_id", "sensor_id"];
}

/// <summary>A tool's state (SEMI E10's basic states, as fabs name them): only a productive tool raises alerts.</summary>
public enum ToolState
{
    Productive,
    Maintenance,
    Engineering,
}

/// <summary>A tool's state, since when, set by whom and why.</summary>
public sealed record ToolStateView(string ToolId, ToolState State, DateTimeOffset Since, string By, string? Note);

/// <summary>One verdict for the alert rules (<see cref="AlertBook.Observe(ReadOnlySpan{Verdict})"/>): whose, by what, and whether abnormal.</summary>
/// <param name="ToolId">The tool.</param>
/// <param name="ChamberId">Its chamber, if any.</param>
/// <param name="Sensor">The sensor, the model that judged the chamber, or the monitored value.</param>
/// <param name="Model">The model (or <c>spc</c>) that judged it.</param>
/// <param name="Score">Its score.</param>
/// <param name="IsAnomaly">Whether it is abnormal.</param>
/// <param name="Class">The latency class it was scored in.</param>
/// <param name="Time">When.</param>
/// <param name="Rule">The rule that judged it, when not the k-of-n rule (an SPC chart's).</param>
/// <param name="Evidence">Why, for the alert's timeline: called only when the timeline takes it (most points of a sensor already in an alert change nothing).</param>
public readonly record struct Verdict(
    string? ToolId, string? ChamberId, string? Sensor, string Model, float Score, bool IsAnomaly, LatencyClass Class, DateTimeOffset Time, string? Rule = null, Func<string>? Evidence = null);
