using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.WaferEval.Independent;

/// <summary>
/// A wafer laid out as a fab does it, in millimetres: a round wafer of <see cref="DiameterMm"/> with an
/// edge exclusion, dies of <see cref="DieWidthMm"/> × <see cref="DieHeightMm"/> (not square in general,
/// so the map is an ellipse once drawn one pixel a die), the die grid shifted by up to half a die, and
/// a die kept when it lies wholly inside the usable circle (or, with <see cref="PartialDies"/>, when
/// any of its corners does). Written from the WM-811K class definitions, not from the training
/// generator: its own units, its own edge rule, its own shapes.
/// </summary>
public sealed class DieGrid
{
    public DieGrid(double diameterMm, double edgeExclusionMm, double dieWidthMm, double dieHeightMm, double offsetX, double offsetY, bool partialDies)
    {
        DiameterMm = diameterMm;
        DieWidthMm = dieWidthMm;
        DieHeightMm = dieHeightMm;
        PartialDies = partialDies;
        UsableRadiusMm = (diameterMm / 2) - edgeExclusionMm;
        Columns = (int)Math.Ceiling((2 * UsableRadiusMm / dieWidthMm) + 1);
        Rows = (int)Math.Ceiling((2 * UsableRadiusMm / dieHeightMm) + 1);
        _originX = (-Columns * dieWidthMm / 2) + (offsetX * dieWidthMm);
        _originY = (-Rows * dieHeightMm / 2) + (offsetY * dieHeightMm);
        OnWafer = new bool[Rows, Columns];
        for (var row = 0; row < Rows; row++)
        {
            for (var column = 0; column < Columns; column++)
            {
                OnWafer[row, column] = Keeps(row, column);
            }
        }
    }

    private readonly double _originX;
    private readonly double _originY;

    public double DiameterMm { get; }

    public double DieWidthMm { get; }

    public double DieHeightMm { get; }

    public bool PartialDies { get; }

    public double UsableRadiusMm { get; }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>Which grid places hold a die.</summary>
    public bool[,] OnWafer { get; }

    /// <summary>The die's centre in millimetres from the wafer's centre (x right, y down).</summary>
    public (double X, double Y) Centre(int row, int column) =>
        (_originX + ((column + 0.5) * DieWidthMm), _originY + ((row + 0.5) * DieHeightMm));

    /// <summary>The die centre's distance from the wafer's centre over the usable radius (0 centre, 1 edge).</summary>
    public double Radius(int row, int column)
    {
        var (x, y) = Centre(row, column);
        return Math.Sqrt((x * x) + (y * y)) / UsableRadiusMm;
    }

    /// <summary>The die centre's angle, in radians within [0, 2π).</summary>
    public double Angle(int row, int column)
    {
        var (x, y) = Centre(row, column);
        var angle = Math.Atan2(y, x);
        return angle < 0 ? angle + (2 * Math.PI) : angle;
    }

    /// <summary>How many dies the usable radius spans, on average over both die sides.</summary>
    public double RadiusInDies => UsableRadiusMm / Math.Sqrt(DieWidthMm * DieHeightMm);

    private bool Keeps(int row, int column)
    {
        var (x, y) = Centre(row, column);
        var corners = 0;
        foreach (var (dx, dy) in new[] { (-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5) })
        {
            var cx = x + (dx * DieWidthMm);
            var cy = y + (dy * DieHeightMm);
            if ((cx * cx) + (cy * cy) <= UsableRadiusMm * UsableRadiusMm)
            {
                corners++;
            }
        }

        return PartialDies ? corners > 0 : corners == 4;
    }

    /// <summary>A map of this grid's dies, failed where <paramref name="failed"/> says, as the WM-811K 0/1/2 encoding (rows × columns).</summary>
    public byte[,] Encode(Func<int, int, bool> failed)
    {
        var dies = new byte[Rows, Columns];
        for (var row = 0; row < Rows; row++)
        {
            for (var column = 0; column < Columns; column++)
            {
                dies[row, column] = !OnWafer[row, column] ? WaferMap.OffWafer : failed(row, column) ? WaferMap.Fail : WaferMap.Pass;
            }
        }

        return dies;
    }
}
