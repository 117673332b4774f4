using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.WaferEval.Independent;

/// <summary>
/// The nine WM-811K classes as their definitions read, drawn on a <see cref="DieGrid"/>:
/// <list type="bullet">
/// <item>none: only the background's scattered fails (0–5 % of dies);</item>
/// <item>center: a dense blob of fails around the wafer's centre;</item>
/// <item>donut: a ring of fails inside the wafer, its centre and edge clean;</item>
/// <item>edge-ring: fails along the whole edge, one to three dies deep;</item>
/// <item>edge-loc: fails along part of the edge (a 30°–100° arc), one to four dies deep;</item>
/// <item>loc: a dense blob away from the centre and the edge;</item>
/// <item>near-full: nearly every die failed;</item>
/// <item>random: many fails scattered everywhere (10–40 %);</item>
/// <item>scratch: a thin curved line of fails, one or two dies wide, sometimes broken.</item>
/// </list>
/// Sizes are in dies or in the usable radius as the definitions suggest; the background's fails come
/// on top of every class.
/// </summary>
public static class DefectShapes
{
    public static byte[,] Draw(DieGrid grid, WaferPattern pattern, Random random)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(random);
        var background = random.NextDouble() * 0.05;
        var fail = Shape(grid, pattern, random);
        return grid.Encode((row, column) => random.NextDouble() < Math.Max(background, fail(row, column)));
    }

    /// <summary>Each die's chance of failing from the class's shape alone.</summary>
    private static Func<int, int, double> Shape(DieGrid grid, WaferPattern pattern, Random random)
    {
        var dieMm = Math.Sqrt(grid.DieWidthMm * grid.DieHeightMm);
        switch (pattern)
        {
            case WaferPattern.Center:
            {
                var sigma = Between(random, 0.12, 0.25);
                var density = Between(random, 0.75, 0.95);
                return (row, column) => density * Math.Exp(-Square(grid.Radius(row, column) / sigma) / 2);
            }

            case WaferPattern.Donut:
            {
                var middle = Between(random, 0.35, 0.6);
                var halfWidth = Between(random, 0.07, 0.14);
                var density = Between(random, 0.7, 0.9);
                return (row, column) => Math.Abs(grid.Radius(row, column) - middle) <= halfWidth ? density : 0;
            }

            case WaferPattern.EdgeRing:
            {
                var depthMm = Between(random, 1, 3) * dieMm;
                var density = Between(random, 0.75, 0.95);
                return (row, column) => (1 - grid.Radius(row, column)) * grid.UsableRadiusMm <= depthMm ? density : 0;
            }

            case WaferPattern.EdgeLoc:
            {
                var depthMm = Between(random, 1, 4) * dieMm;
                var from = random.NextDouble() * 2 * Math.PI;
                var span = Between(random, 30, 100) * Math.PI / 180;
                var density = Between(random, 0.7, 0.95);
                return (row, column) =>
                    (1 - grid.Radius(row, column)) * grid.UsableRadiusMm <= depthMm && AngleFrom(from, grid.Angle(row, column)) <= span ? density : 0;
            }

            case WaferPattern.Loc:
            {
                var at = Between(random, 0.3, 0.7);
                var angle = random.NextDouble() * 2 * Math.PI;
                var (cx, cy) = (at * Math.Cos(angle) * grid.UsableRadiusMm, at * Math.Sin(angle) * grid.UsableRadiusMm);
                var sigmaMm = Between(random, 0.07, 0.14) * grid.UsableRadiusMm;
                var density = Between(random, 0.75, 0.95);
                return (row, column) =>
                {
                    var (x, y) = grid.Centre(row, column);
                    return density * Math.Exp(-(Square(x - cx) + Square(y - cy)) / (2 * sigmaMm * sigmaMm));
                };
            }

            case WaferPattern.NearFull:
            {
                var density = Between(random, 0.8, 0.97);
                return (_, _) => density;
            }

            case WaferPattern.Random:
            {
                var density = Between(random, 0.1, 0.4);
                return (_, _) => density;
            }

            case WaferPattern.Scratch:
                return Scratch(grid, random, dieMm);

            case WaferPattern.None:
            default:
                return (_, _) => 0;
        }
    }

    /// <summary>A quadratic Bézier from one point of the wafer to another, bent sideways, one or two dies wide, with gaps in some.</summary>
    private static Func<int, int, double> Scratch(DieGrid grid, Random random, double dieMm)
    {
        (double X, double Y) Point(double radius)
        {
            var angle = random.NextDouble() * 2 * Math.PI;
            return (radius * Math.Cos(angle) * grid.UsableRadiusMm, radius * Math.Sin(angle) * grid.UsableRadiusMm);
        }

        var start = Point(Between(random, 0.3, 0.95));
        var end = Point(Between(random, 0.3, 0.95));
        var bend = Point(Between(random, 0, 0.5));
        var control = (X: ((start.X + end.X) / 2) + bend.X, Y: ((start.Y + end.Y) / 2) + bend.Y);
        var halfWidthMm = Between(random, 0.5, 1.0) * dieMm;
        var gaps = random.NextDouble() < 0.3;
        var samples = new List<(double X, double Y, double T)>();
        for (var t = 0.0; t <= 1.0; t += 0.002)
        {
            var u = 1 - t;
            samples.Add((
                (u * u * start.X) + (2 * u * t * control.X) + (t * t * end.X),
                (u * u * start.Y) + (2 * u * t * control.Y) + (t * t * end.Y),
                t));
        }

        return (row, column) =>
        {
            var (x, y) = grid.Centre(row, column);
            foreach (var (sx, sy, t) in samples)
            {
                if (Square(x - sx) + Square(y - sy) <= halfWidthMm * halfWidthMm)
                {
                    // A broken scratch loses a fifth of its length in three gaps.
                    return gaps && ((int)(t * 15) % 5 == 2) ? 0 : 0.95;
                }
            }

            return 0;
        };
    }

    private static double AngleFrom(double from, double angle)
    {
        var delta = angle - from;
        return delta < 0 ? delta + (2 * Math.PI) : delta;
    }

    private static double Between(Random random, double low, double high) => low + (random.NextDouble() * (high - low));

    private static double Square(double value) => value * value;
}
