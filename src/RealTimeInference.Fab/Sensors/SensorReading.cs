namespace RealTimeInference.Fab.Sensors;

/// <summary>
/// One reading of a chamber sensor: the three process values the anomaly models score, when it was
/// taken, and which tool and sensor took it (null when a client does not say).
/// </summary>
public readonly record struct SensorReading(
    string? ToolId,
    string? SensorId,
    DateTimeOffset Timestamp,
    float Temperature,
    float Pressure,
    float FlowRate);

/// <summary>What the simulator injected into a reading; <see cref="AnomalyKind.None"/> for a healthy one.</summary>
public enum AnomalyKind
{
    None,
    /// <summary>A one-reading temperature excursion (heater glitch, arcing).</summary>
    Spike,
    /// <summary>A slow temperature ramp away from set point (controller drift); labelled once it leaves the noise band.</summary>
    Drift,
    /// <summary>A sensor pinned at a rail value (open thermocouple, saturated transducer).</summary>
    StuckAtRail,
    /// <summary>A partly blocked line: flow falls while upstream pressure rises.</summary>
    FlowBlockage,
    /// <summary>A vacuum leak: pressure falls with a small temperature dip.</summary>
    PressureLeak,
}

/// <summary>A reading with the ground truth the simulator knows.</summary>
public readonly record struct LabelledReading(SensorReading Reading, AnomalyKind Anomaly)
{
    public bool IsAnomaly => Anomaly != AnomalyKind.None;
}
