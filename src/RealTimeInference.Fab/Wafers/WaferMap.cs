namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// A wafer map: a square grid of <see cref="Size"/> × <see cref="Size"/> cells, row-major, each
/// <see cref="OffWafer"/>, <see cref="Pass"/> or <see cref="Fail"/> (the WM-811K encoding 0/1/2).
/// </summary>
public sealed class WaferMap(int size, byte[] dies, WaferPattern pattern)
{
    public const byte OffWafer = 0, Pass = 1, Fail = 2;

    public int Size { get; } = size;

    public WaferPattern Pattern { get; } = pattern;

    public ReadOnlySpan<byte> Dies => dies;

    public byte this[int row, int column] => dies[(row * Size) + column];

    /// <summary>Failed dies over dies on the wafer.</summary>
    public double FailFraction => FailFractionWithin(0, 1);

    /// <summary>
    /// Failed dies over dies on the wafer whose centre lies between <paramref name="inner"/> and
    /// <paramref name="outer"/> wafer radii (0 = centre, 1 = edge); NaN when no die lies there.
    /// </summary>
    public double FailFractionWithin(double inner, double outer)
    {
        int onWafer = 0, failed = 0;
        for (var row = 0; row < Size; row++)
        {
            for (var column = 0; column < Size; column++)
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
        var half = Size / 2.0;
        var dx = (column + 0.5 - half) / half;
        var dy = (row + 0.5 - half) / half;
        return Math.Sqrt((dx * dx) + (dy * dy));
    }
}
