namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// Synthetic wafer maps for the nine WM-811K pattern classes, deterministic from the seed: the
/// die grid size, the pattern's position, size and density, and background fail noise all vary
/// per wafer. A pattern is a fail probability per die (in wafer-radius coordinates, 0 = centre,
/// 1 = edge), on top of the wafer's background rate.
/// </summary>
public sealed class WaferMapGenerator
{
    private readonly Random _random;
    private readonly WaferMapGeneratorOptions _options;

    public WaferMapGenerator(int seed, WaferMapGeneratorOptions? options = null)
    {
        _options = options ?? new WaferMapGeneratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MinDiesAcross, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxDiesAcross, _options.MinDiesAcross);
        if (double.IsNaN(_options.MaxBackgroundFailRate) || _options.MaxBackgroundFailRate is < 0 or > 0.5)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBackgroundFailRate must be within [0, 0.5].");
        }

        _random = new Random(seed);
    }

    /// <summary><paramref name="perClass"/> wafers of every class, the classes interleaved.</summary>
    public IEnumerable<WaferMap> Generate(int perClass)
    {
        for (var i = 0; i < perClass; i++)
        {
            foreach (var pattern in WaferPatterns.All)
            {
                yield return Next(pattern);
            }
        }
    }

    public WaferMap Next(WaferPattern pattern)
    {
        var size = _random.Next(_options.MinDiesAcross, _options.MaxDiesAcross + 1);
        var background = _random.NextDouble() * _options.MaxBackgroundFailRate;
        var failChance = Pattern(pattern);
        var dies = new byte[size * size];
        var half = size / 2.0;
        for (var row = 0; row < size; row++)
        {
            for (var column = 0; column < size; column++)
            {
                var x = (column + 0.5 - half) / half;
                var y = (row + 0.5 - half) / half;
                // A die is on the wafer when its centre is inside the circle, as on a real stepper map.
                if ((x * x) + (y * y) > 1)
                {
                    continue;
                }

                var p = Math.Max(background, failChance(x, y));
                dies[(row * size) + column] = _random.NextDouble() < p ? WaferMap.Fail : WaferMap.Pass;
            }
        }

        return new WaferMap(size, dies, pattern);
    }

    /// <summary>The pattern's fail probability at (x, y), in wafer radii, with its parameters drawn now.</summary>
    private Func<double, double, double> Pattern(WaferPattern pattern)
    {
        var density = Uniform(0.7, 0.95);
        switch (pattern)
        {
            case WaferPattern.None:
                return static (_, _) => 0;
            case WaferPattern.Center:
            {
                var (cx, cy) = Polar(Uniform(0, 0.08), Angle());
                var radius = Uniform(0.18, 0.4);
                return (x, y) => Distance(x, y, cx, cy) <= radius ? density : 0;
            }

            case WaferPattern.Donut:
            {
                var inner = Uniform(0.2, 0.42);
                var outer = inner + Uniform(0.18, 0.3);
                return (x, y) => Distance(x, y, 0, 0) is var r && r >= inner && r <= outer ? density : 0;
            }

            case WaferPattern.EdgeRing:
            {
                var width = Uniform(0.08, 0.16);
                return (x, y) => Distance(x, y, 0, 0) >= 1 - width ? density : 0;
            }

            case WaferPattern.EdgeLoc:
            {
                var width = Uniform(0.12, 0.3);
                var centre = Angle();
                var halfArc = Uniform(0.3, 0.8);
                return (x, y) => Distance(x, y, 0, 0) >= 1 - width && AngleBetween(Math.Atan2(y, x), centre) <= halfArc ? density : 0;
            }

            case WaferPattern.Loc:
            {
                var (cx, cy) = Polar(Uniform(0.2, 0.65), Angle());
                var radius = Uniform(0.1, 0.2);
                return (x, y) => Distance(x, y, cx, cy) <= radius ? density : 0;
            }

            case WaferPattern.NearFull:
            {
                var rate = Uniform(0.75, 0.95);
                return (_, _) => rate;
            }

            case WaferPattern.Random:
            {
                var rate = Uniform(0.15, 0.4);
                return (_, _) => rate;
            }

            case WaferPattern.Scratch:
            {
                // A straight scratch of a die or two in width, from a point inside the wafer.
                var (sx, sy) = Polar(Uniform(0, 0.6), Angle());
                var direction = Angle();
                var length = Uniform(0.6, 1.3);
                var (ex, ey) = (sx + (length * Math.Cos(direction)), sy + (length * Math.Sin(direction)));
                var width = Uniform(0.03, 0.06);
                return (x, y) => SegmentDistance(x, y, sx, sy, ex, ey) <= width ? density : 0;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(pattern), pattern, "Unknown wafer pattern.");
        }
    }

    private double Uniform(double min, double max) => min + (_random.NextDouble() * (max - min));

    private double Angle() => _random.NextDouble() * 2 * Math.PI;

    private static (double X, double Y) Polar(double radius, double angle) => (radius * Math.Cos(angle), radius * Math.Sin(angle));

    private static double Distance(double x, double y, double cx, double cy) => Math.Sqrt(((x - cx) * (x - cx)) + ((y - cy) * (y - cy)));

    private static double AngleBetween(double a, double b)
    {
        var d = Math.Abs(a - b) % (2 * Math.PI);
        return d > Math.PI ? (2 * Math.PI) - d : d;
    }

    private static double SegmentDistance(double x, double y, double ax, double ay, double bx, double by)
    {
        var (dx, dy) = (bx - ax, by - ay);
        var t = Math.Clamp((((x - ax) * dx) + ((y - ay) * dy)) / ((dx * dx) + (dy * dy)), 0, 1);
        return Distance(x, y, ax + (t * dx), ay + (t * dy));
    }
}
