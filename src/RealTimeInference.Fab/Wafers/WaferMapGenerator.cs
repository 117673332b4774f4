namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// Synthetic wafer maps for the nine WM-811K pattern classes, deterministic from the seed: the
/// die grid size, the pattern's position, size and density, and background fail noise all vary
/// per wafer. A pattern is a fail probability per die (in wafer-radius coordinates, 0 = centre,
/// 1 = edge), on top of the wafer's background rate. <see cref="WaferMapGeneratorOptions"/> can
/// add what fabs vary: grids from 20 to 300 dies, non-square dies, off-centre wafers, partial edge
/// dies and shapes sized in dies; with the defaults the draws, and so the maps, are the original ones.
/// </summary>
public sealed class WaferMapGenerator
{
    private readonly Random _random;
    private readonly WaferMapGeneratorOptions _options;

    public WaferMapGenerator(int seed, WaferMapGeneratorOptions? options = null)
    {
        _options = options ?? new WaferMapGeneratorOptions();
        _options.Validate();
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
        var o = _options;
        var across = o.LogUniformDiesAcross
            ? (int)Math.Min(o.MaxDiesAcross, Math.Exp(Uniform(Math.Log(o.MinDiesAcross), Math.Log(o.MaxDiesAcross + 1))))
            : _random.Next(o.MinDiesAcross, o.MaxDiesAcross + 1);
        var background = _random.NextDouble() * o.MaxBackgroundFailRate;
        // Width over height of a die: a round wafer is then (across) dies wide and (across × aspect) dies high.
        var aspect = o.MaxDieAspect > 1 ? Math.Exp(Uniform(-Math.Log(o.MaxDieAspect), Math.Log(o.MaxDieAspect))) : 1;
        var (offsetX, offsetY) = o.MaxCentreOffset > 0 ? (Uniform(-o.MaxCentreOffset, o.MaxCentreOffset), Uniform(-o.MaxCentreOffset, o.MaxCentreOffset)) : (0, 0);
        var partialDies = o.PartialEdgeDieChance > 0 && _random.NextDouble() < o.PartialEdgeDieChance;
        var radius = (Across: across / 2.0, Down: across * aspect / 2.0);
        var columns = (int)Math.Ceiling((2 * radius.Across) + (2 * Math.Abs(offsetX)) - 1e-9);
        var rows = (int)Math.Ceiling((2 * radius.Down) + (2 * Math.Abs(offsetY)) - 1e-9);
        var centre = (Column: (columns / 2.0) + offsetX, Row: (rows / 2.0) + offsetY);
        var failChance = Pattern(pattern, 1 / radius.Across);
        var dies = new byte[rows * columns];
        for (var row = 0; row < rows; row++)
        {
            for (var column = 0; column < columns; column++)
            {
                var x = (column + 0.5 - centre.Column) / radius.Across;
                var y = (row + 0.5 - centre.Row) / radius.Down;
                // A die is on the wafer when its centre is inside the circle, as on a real stepper map;
                // some maps also keep the dies the edge cuts (any part inside).
                var (nearX, nearY) = partialDies
                    ? (Math.Max(Math.Abs(x) - (0.5 / radius.Across), 0), Math.Max(Math.Abs(y) - (0.5 / radius.Down), 0))
                    : (x, y);
                if ((nearX * nearX) + (nearY * nearY) > 1)
                {
                    continue;
                }

                var p = Math.Max(background, failChance(x, y));
                dies[(row * columns) + column] = _random.NextDouble() < p ? WaferMap.Fail : WaferMap.Pass;
            }
        }

        return new WaferMap(rows, columns, dies, pattern, centre, radius);
    }

    /// <summary>The pattern's fail probability at (x, y), in wafer radii, with its parameters drawn now.</summary>
    /// <param name="pattern">The class.</param>
    /// <param name="die">One die's width in wafer radii, for the shapes <see cref="WaferMapGeneratorOptions.ShapeVariety"/> sizes in dies.</param>
    private Func<double, double, double> Pattern(WaferPattern pattern, double die)
    {
        var variety = _options.ShapeVariety;
        var density = Uniform(0.7, 0.95);
        switch (pattern)
        {
            case WaferPattern.None:
                return static (_, _) => 0;
            case WaferPattern.Center:
            {
                var (cx, cy) = Polar(Uniform(0, 0.08), Angle());
                var radius = Uniform(0.18, 0.4);
                return Blob(cx, cy, radius, density, variety && Coin());
            }

            case WaferPattern.Donut:
            {
                var inner = Uniform(0.2, 0.42);
                var outer = inner + Uniform(0.18, 0.3);
                return (x, y) => Distance(x, y, 0, 0) is var r && r >= inner && r <= outer ? density : 0;
            }

            case WaferPattern.EdgeRing:
            {
                var width = variety && Coin() ? Math.Min(0.3, Uniform(1, 3.5) * die) : Uniform(0.08, 0.16);
                return (x, y) => Distance(x, y, 0, 0) >= 1 - width ? density : 0;
            }

            case WaferPattern.EdgeLoc:
            {
                var width = variety && Coin() ? Math.Min(0.4, Uniform(1, 4) * die) : Uniform(0.12, 0.3);
                var centre = Angle();
                var halfArc = Uniform(0.3, 0.8);
                return (x, y) => Distance(x, y, 0, 0) >= 1 - width && AngleBetween(Math.Atan2(y, x), centre) <= halfArc ? density : 0;
            }

            case WaferPattern.Loc:
            {
                var (cx, cy) = Polar(Uniform(0.2, 0.65), Angle());
                var radius = Uniform(0.1, 0.2);
                return Blob(cx, cy, radius, density, variety && Coin());
            }

            case WaferPattern.NearFull:
            {
                var rate = Uniform(0.75, 0.95);
                return (_, _) => rate;
            }

            case WaferPattern.Random:
            {
                var rate = Uniform(_options.MinRandomFailRate, 0.4);
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
                return variety ? CurvedScratch(sx, sy, ex, ey, width, die, density) : (x, y) => SegmentDistance(x, y, sx, sy, ex, ey) <= width ? density : 0;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(pattern), pattern, "Unknown wafer pattern.");
        }
    }

    /// <summary>A disc of <paramref name="radius"/>, or (soft) a Gaussian whose density halves near that radius.</summary>
    private static Func<double, double, double> Blob(double cx, double cy, double radius, double density, bool soft)
    {
        var twoSigmaSquared = 2 * Math.Pow(radius / 1.2, 2);
        return soft
            ? (x, y) => density * Math.Exp(-(((x - cx) * (x - cx)) + ((y - cy) * (y - cy))) / twoSigmaSquared)
            : (x, y) => Distance(x, y, cx, cy) <= radius ? density : 0;
    }

    /// <summary>
    /// The scratch bent into a quadratic curve, half of them moved and resized, half of them a die or two
    /// wide instead of <paramref name="width"/> radii, a third of them broken into pieces.
    /// </summary>
    private Func<double, double, double> CurvedScratch(double sx, double sy, double ex, double ey, double width, double die, double density)
    {
        const int pieces = 24;
        if (Coin())
        {
            // Half start anywhere up to near the edge, and are as short as a third of a radius.
            (sx, sy) = Polar(Uniform(0, 0.9), Angle());
            var (direction, length) = (Angle(), Uniform(0.3, 1.4));
            (ex, ey) = (sx + (length * Math.Cos(direction)), sy + (length * Math.Sin(direction)));
        }

        var bend = Uniform(-0.35, 0.35);
        var halfWidth = Coin() ? Math.Max(Uniform(0.5, 1.1) * die, 0.004) : width;
        var broken = _random.NextDouble() < 0.3;
        var (cx, cy) = (((sx + ex) / 2) - (bend * (ey - sy)), ((sy + ey) / 2) + (bend * (ex - sx)));
        var points = new (double X, double Y)[pieces + 1];
        for (var i = 0; i <= pieces; i++)
        {
            var t = (double)i / pieces;
            var u = 1 - t;
            points[i] = ((u * u * sx) + (2 * u * t * cx) + (t * t * ex), (u * u * sy) + (2 * u * t * cy) + (t * t * ey));
        }

        return (x, y) =>
        {
            for (var i = 0; i < pieces; i++)
            {
                // A broken scratch misses every fourth piece.
                if ((!broken || i % 4 != 3) && SegmentDistance(x, y, points[i].X, points[i].Y, points[i + 1].X, points[i + 1].Y) <= halfWidth)
                {
                    return density;
                }
            }

            return 0;
        };
    }

    private bool Coin() => _random.NextDouble() < 0.5;

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
