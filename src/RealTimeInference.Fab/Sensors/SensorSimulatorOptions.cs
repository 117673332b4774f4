namespace RealTimeInference.Fab.Sensors;

public sealed class SensorSimulatorOptions
{
    public int Tools { get; set; } = 5;

    public int SensorsPerTool { get; set; } = 4;

    /// <summary>Chance per reading that a channel starts an anomaly episode.</summary>
    public double AnomalyRate { get; set; } = 0.02;

    public int Seed { get; set; } = 42;

    /// <summary>Time between two readings of one channel.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Timestamp of the first tick; fixed so a seed reproduces the same readings.</summary>
    public DateTimeOffset Start { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
