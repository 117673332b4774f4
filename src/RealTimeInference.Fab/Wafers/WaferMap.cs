namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// A wafer map: a grid of <see cref="Rows"/> × <see cref="Columns"/> dies, row-major, each
/// <see cref="OffWafer"/>, <see cref="Pass"/> or <see cref="Fail"/> (the WM-811K encoding 0/1/2),
/// and where the wafer lies on it: its centre and its radius across and down, in dies (non-square
/// dies make a round wafer an ellipse of dies).
/// </summary>
public sealed class WaferMap
{
    public const byte OffWafer = 0, Pass = 1, Fail = 2;

    private readonly byte[] _dies;

    /// <summary>A square map whose wafer is the circle inscribed in it.</summary>
    public WaferMap(int size, byte[] dies, WaferPattern pattern)
        : this(size, size, dies, pattern, (size / 2.0, size / 2.0), (size / 2.0, size / 2.0))
    {
    }

    public WaferMap(int rows, int columns, byte[] dies, WaferPattern pattern, (double Column, double Row) centre, (double Across, double Down) radius)
    {
        ArgumentNullException.ThrowIfNull(dies);
        ArgumentOutOfRangeException.ThrowIfNotEqual(dies.Length, rows * columns, nameof(dies));
        (Rows, Columns, _dies, Pattern, Centre, WaferRadius) = (rows, columns, dies, pattern, centre, radius);
    }

    public int Rows { get; }

    public int Columns { get; }

    public WaferPattern Pattern { get; }

    /// <summary>The wafer's centre, in dies from the map's top-left corner.</summary>
    public (double Column, double Row) Centre { get; }

    /// <summary>The wafer's radius in dies, across (columns) and down (rows).</summary>
    public (double Across, double Down) WaferRadius { get; }

    public ReadOnlySpan<byte> Dies => _dies;

    public byte this[int row, int column] => _dies[(row * Columns) + column];

    /// <summary>Failed dies over dies on the wafer.</summary>
    public double FailFraction => FailFractionWithin(0, 1);

    /// <summary>
    /// Failed dies over dies on the wafer whose centre lies between <paramref name="inner"/> and
    /// <paramref name="outer"/> wafer radii (0 = centre, 1 = edge); NaN when no die lies there.
    /// </summary>
    public double FailFractionWithin(double inner, double outer)
    {
        int onWafer = 0, failed = 0;
        for (var row = 0; row < Rows; row++)
        {
            for (var column = 0; column < Columns; column++)
            {
                var state = this[row, column];
                var r = Radius(row, column);
                if (state == OffWafer || r < inner || r > outer)
                {
                    continue;
                }

                onWafer++;
                failed += state == Fail ? 1 : 0;
            }
        }

        return onWafer == 0 ? double.NaN : (double)failed / onWafer;
    }

    /// <summary>Distance of a die's centre from the wafer centre, in wafer radii.</summary>
    public double Radius(int row, int column)
    {
        var dx = (column + 0.5 - Centre.Column) / WaferRadius.Across;
        var dy = (row + 0.5 - Centre.Row) / WaferRadius.Down;
        return Math.Sqrt((dx * dx) + (dy * dy));
    }
}
