namespace RealTimeInference.Fab.Chambers;

public sealed class ChamberSimulatorOptions
{
    /// <summary>Cluster tools (<c>etch-01</c>, ...), each with the chambers of <see cref="ChamberKind.ClusterTool"/>.</summary>
    public int Tools { get; set; } = 2;

    /// <summary>Chance per tick that a chamber without a fault starts one.</summary>
    public double FaultRate { get; set; } = 1.0 / 300;

    /// <summary>Ticks after a fault ends before the chamber may start another.</summary>
    public int FaultCooldownTicks { get; set; } = 60;

    /// <summary>Wafers in a lot.</summary>
    public int WafersPerLot { get; set; } = 25;

    public int Seed { get; set; } = 42;

    /// <summary>Time between two readings of one chamber.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Timestamp of the first tick; fixed so a seed reproduces the same readings.</summary>
    public DateTimeOffset Start { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
