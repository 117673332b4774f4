namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// What varies between generated wafers. The defaults are the original generator's (square dies,
/// a centred wafer, sizes in wafer radii); <see cref="FabVariety"/> spans what fabs send.
/// </summary>
public sealed class WaferMapGeneratorOptions
{
    /// <summary>Fewest dies across the wafer's diameter.</summary>
    public int MinDiesAcross { get; set; } = 26;

    /// <summary>Most dies across the wafer's diameter.</summary>
    public int MaxDiesAcross { get; set; } = 52;

    /// <summary>Draw the dies across log-uniformly (as many 20–40 grids as 150–300 ones) instead of uniformly.</summary>
    public bool LogUniformDiesAcross { get; set; }

    /// <summary>Highest chance that any die fails for reasons unrelated to the pattern (drawn per wafer from 0 up to this).</summary>
    public double MaxBackgroundFailRate { get; set; } = 0.04;

    /// <summary>Largest ratio of a die's width to its height or height to width (1: square dies; more: a round wafer becomes an ellipse of dies).</summary>
    public double MaxDieAspect { get; set; } = 1;

    /// <summary>Largest shift of the wafer's centre from the grid's, in dies along each axis.</summary>
    public double MaxCentreOffset { get; set; }

    /// <summary>Chance that a wafer keeps the partial dies its edge cuts (otherwise a die is on the wafer when its centre is).</summary>
    public double PartialEdgeDieChance { get; set; }

    /// <summary>
    /// Lower bound of the <c>random</c> class's fail rate (its upper bound is 0.4).
    /// </summary>
    public double MinRandomFailRate { get; set; } = 0.15;

    /// <summary>
    /// Shapes as fabs see them, not only in wafer radii: scratches, edge rings and edge arcs whose
    /// width is a few dies half the time, curved and broken scratches, blobs with soft edges.
    /// </summary>
    public bool ShapeVariety { get; set; }

    /// <summary>What fabs send: 20 to 300 dies across, non-square dies, off-centre grids, partial edge dies, 0–5 % background fails, shapes in dies.</summary>
    public static WaferMapGeneratorOptions FabVariety() => new()
    {
        MinDiesAcross = 20,
        MaxDiesAcross = 300,
        LogUniformDiesAcross = true,
        MaxBackgroundFailRate = 0.05,
        MaxDieAspect = 1.4,
        MaxCentreOffset = 0.5,
        PartialEdgeDieChance = 0.3,
        MinRandomFailRate = 0.1,
        ShapeVariety = true,
    };

    /// <summary>Every problem, each naming its setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinDiesAcross, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDiesAcross, MinDiesAcross);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDiesAcross, 1000);
        Check(MaxBackgroundFailRate, 0, 0.5, nameof(MaxBackgroundFailRate));
        Check(MaxDieAspect, 1, 3, nameof(MaxDieAspect));
        Check(MaxCentreOffset, 0, 4, nameof(MaxCentreOffset));
        Check(PartialEdgeDieChance, 0, 1, nameof(PartialEdgeDieChance));
        Check(MinRandomFailRate, 0.05, 0.4, nameof(MinRandomFailRate));
    }

    private static void Check(double value, double min, double max, string name)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be within [{min}, {max}].");
        }
    }
}
