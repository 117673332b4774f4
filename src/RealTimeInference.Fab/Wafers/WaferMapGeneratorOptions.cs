namespace RealTimeInference.Fab.Wafers;

public sealed class WaferMapGeneratorOptions
{
    /// <summary>Fewest dies across the wafer's diameter.</summary>
    public int MinDiesAcross { get; set; } = 26;

    /// <summary>Most dies across the wafer's diameter.</summary>
    public int MaxDiesAcross { get; set; } = 52;

    /// <summary>Highest chance that any die fails for reasons unrelated to the pattern (drawn per wafer from 0 up to this).</summary>
    public double MaxBackgroundFailRate { get; set; } = 0.04;
}
