namespace RealTimeInference.Server.Simulation;

/// <summary>The fab simulator that runs inside the server, feeding the live stream.</summary>
public sealed class SimulatorOptions
{
    public const string Section = "Simulator";

    public bool Enabled { get; set; } = true;

    public int Tools { get; set; } = 5;

    public int SensorsPerTool { get; set; } = 4;

    /// <summary>Readings per second of each tool and sensor.</summary>
    public double RateHz { get; set; } = 1;

    /// <summary>Chance per reading that a channel starts an anomaly episode.</summary>
    public double AnomalyRate { get; set; } = 0.001;

    public int Seed { get; set; } = 42;

    /// <summary>Cluster tools of the chamber simulator (<c>etch-01</c>, ...: two etch chambers and a strip chamber each, readings with context); 0 turns it off.</summary>
    public int ChamberTools { get; set; } = 2;

    /// <summary>Chance per tick that a healthy chamber starts a fault.</summary>
    public double FaultRate { get; set; } = 1.0 / 300;

    /// <summary>Time between two lots of each simulated tool's process (each lot's yield is measured two lots later).</summary>
    public TimeSpan LotInterval { get; set; } = TimeSpan.FromSeconds(5);
}
