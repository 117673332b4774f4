using RealTimeInference.Fab.Wafers;
using RealTimeInference.WaferEval.Independent;
using SkiaSharp;

namespace RealTimeInference.WaferEval.Evaluation;

/// <summary>One image of the independent set and what it is.</summary>
public sealed record IndependentWafer(WaferPattern Pattern, int DiesAcross, string GridBand, string Format, string Render, byte[] Image);

/// <summary>
/// The independent evaluation set: every class × die-grid band × format × rendering, <c>perCell</c>
/// images each, from one seed. Grey levels, die shape, grid offset, edge rule and margin vary per image.
/// </summary>
public static class IndependentSet
{
    public static readonly (string Name, int Low, int High)[] GridBands =
        [("20-32", 20, 32), ("33-48", 33, 48), ("49-64", 49, 64), ("65-96", 65, 96), ("97-160", 97, 160), ("161-300", 161, 300)];

    public static readonly string[] Formats = ["png", "jpeg-90", "jpeg-75", "jpeg-50"];

    public static readonly string[] Renders = ["1px-per-die", "nearest-up", "smooth-up"];

    public static IEnumerable<IndependentWafer> Generate(int seed, int perCell)
    {
        var random = new Random(seed);
        foreach (var pattern in WaferPatterns.All)
        {
            foreach (var (band, low, high) in GridBands)
            {
                foreach (var format in Formats)
                {
                    foreach (var render in Renders)
                    {
                        for (var i = 0; i < perCell; i++)
                        {
                            yield return Next(random, pattern, band, low, high, format, render);
                        }
                    }
                }
            }
        }
    }

    private static IndependentWafer Next(Random random, WaferPattern pattern, string band, int low, int high, string format, string render)
    {
        var diameter = new[] { 150.0, 200.0, 300.0 }[random.Next(3)];
        var across = random.Next(low, high + 1);
        var dieHeight = (diameter - 6) / across;
        var aspect = 0.75 + (random.NextDouble() * 0.5);
        var grid = new DieGrid(diameter, 3, dieHeight * aspect, dieHeight, random.NextDouble() - 0.5, random.NextDouble() - 0.5, random.Next(4) == 0);
        var dies = DefectShapes.Draw(grid, pattern, random);
        var pass = random.Next(3) == 0 ? (byte)random.Next(127, 129) : (byte)random.Next(100, 171);
        var pixelsPerDie = render == "1px-per-die" ? 1 : 1.5 + (random.NextDouble() * 4.5);
        var style = new PaintStyle(
            (byte)random.Next(0, 21), pass, (byte)random.Next(225, 256),
            render == "nearest-up" ? Math.Round(pixelsPerDie) : pixelsPerDie,
            Antialias: render == "smooth-up",
            MarginFraction: random.NextDouble() * 0.08,
            ScaleTo: render == "smooth-up" ? random.Next(96, 513) : 0,
            Sampling: render == "smooth-up" ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear) : new SKSamplingOptions(SKFilterMode.Nearest),
            Jpeg: format != "png",
            JpegQuality: format == "png" ? 0 : int.Parse(format[5..], System.Globalization.CultureInfo.InvariantCulture));
        return new IndependentWafer(pattern, across, band, format, render, DieMapPainter.Paint(dies, style));
    }
}
