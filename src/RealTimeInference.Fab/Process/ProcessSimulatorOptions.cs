namespace RealTimeInference.Fab.Process;

public sealed class ProcessSimulatorOptions
{
    public int Tools { get; set; } = 5;

    public int Seed { get; set; } = 42;

    /// <summary>Readings of each tool's chamber sensor while it processes one lot.</summary>
    public int ReadingsPerLot { get; set; } = 20;

    public int WafersPerLot { get; set; } = 25;

    /// <summary>A chamber is cleaned after this many wafers, which sets its age back to 0.</summary>
    public int MaintenanceWafers { get; set; } = 2_500;

    /// <summary>Lots a tool processes between running a lot and metrology measuring its yield.</summary>
    public int MetrologyDelayLots { get; set; } = 2;

    /// <summary>Standard deviation of metrology's yield measurement.</summary>
    public double YieldNoiseSd { get; set; } = 0.01;

    /// <summary>Chance per sensor reading that an anomaly episode starts (as <c>SensorSimulatorOptions.AnomalyRate</c>).</summary>
    public double AnomalyRate { get; set; } = 0.005;

    /// <summary>Yield lost by a lot processed entirely during an anomaly episode (a share of it, for part of the lot).</summary>
    public double AnomalyPenalty { get; set; } = 0.25;
}
