using RealTimeInference.Fab.Wafers;
using RealTimeInference.WaferEval.Independent;
using SkiaSharp;

namespace RealTimeInference.WaferEval.Tests;

public sealed class IndependentRendererTests
{
    private static DieGrid Grid(double dieMm = 5, double aspect = 1, bool partial = false) =>
        new(200, 3, dieMm * aspect, dieMm, 0.25, -0.1, partial);

    private static double FailFraction(byte[,] dies, Func<int, int, bool>? where = null)
    {
        int on = 0, failed = 0;
        for (var row = 0; row < dies.GetLength(0); row++)
        {
            for (var column = 0; column < dies.GetLength(1); column++)
            {
                if (dies[row, column] != WaferMap.OffWafer && (where is null || where(row, column)))
                {
                    on++;
                    failed += dies[row, column] == WaferMap.Fail ? 1 : 0;
                }
            }
        }

        return (double)failed / on;
    }

    [Fact]
    public void TheGrid_KeepsOnlyDiesInsideTheUsableCircle_AndNonSquareDiesMakeAnEllipse()
    {
        var grid = Grid(dieMm: 4, aspect: 1.5);

        Assert.True(grid.Rows > grid.Columns);
        for (var row = 0; row < grid.Rows; row++)
        {
            for (var column = 0; column < grid.Columns; column++)
            {
                if (grid.OnWafer[row, column])
                {
                    Assert.True(grid.Radius(row, column) < 1);
                }
            }
        }

        // Dies wholly inside a 94 mm circle: fewer than the circle's area over a die's, more than 80 % of it.
        var dies = grid.OnWafer.Cast<bool>().Count(on => on);
        var most = Math.PI * 94 * 94 / (6 * 4);
        Assert.InRange(dies, 0.8 * most, most);
        Assert.True(Grid(partial: true).OnWafer.Cast<bool>().Count(on => on) > Grid().OnWafer.Cast<bool>().Count(on => on));
    }

    [Fact]
    public void EachClass_IsDrawnAsItsDefinitionSays()
    {
        var grid = Grid(dieMm: 3);
        var random = new Random(7);
        // The outermost die: the ring is one to three dies deep.
        bool Edge(int row, int column) => (1 - grid.Radius(row, column)) * grid.UsableRadiusMm <= 3;
        bool Middle(int row, int column) => grid.Radius(row, column) < 0.1;

        Assert.InRange(FailFraction(DefectShapes.Draw(grid, WaferPattern.None, random)), 0, 0.06);
        Assert.True(FailFraction(DefectShapes.Draw(grid, WaferPattern.Center, random), Middle) > 0.6);
        var ring = DefectShapes.Draw(grid, WaferPattern.EdgeRing, random);
        Assert.True(FailFraction(ring, Edge) > 0.5);
        Assert.True(FailFraction(ring, Middle) < 0.1);
        Assert.True(FailFraction(DefectShapes.Draw(grid, WaferPattern.NearFull, random)) > 0.75);
        Assert.InRange(FailFraction(DefectShapes.Draw(grid, WaferPattern.Random, random)), 0.08, 0.45);
        // A scratch is thin: a few per cent of the dies, not a blob.
        Assert.InRange(FailFraction(DefectShapes.Draw(grid, WaferPattern.Scratch, new Random(3))), 0.005, 0.12);
    }

    [Fact]
    public void ThePainter_DrawsItsDeclaredLevels_OnePixelADie()
    {
        var grid = Grid(dieMm: 10);
        var dies = DefectShapes.Draw(grid, WaferPattern.Donut, new Random(1));
        var style = new PaintStyle(5, 128, 240, 1, false, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), false, 0);

        using var bitmap = SKBitmap.Decode(DieMapPainter.Paint(dies, style));

        Assert.Equal((grid.Columns, grid.Rows), (bitmap.Width, bitmap.Height));
        for (var row = 0; row < grid.Rows; row++)
        {
            for (var column = 0; column < grid.Columns; column++)
            {
                var expected = dies[row, column] switch { WaferMap.Fail => 240, WaferMap.Pass => 128, _ => 5 };
                Assert.Equal(expected, bitmap.GetPixel(column, row).Red);
            }
        }
    }

    [Fact]
    public void TheSameSeed_DrawsTheSameMap()
    {
        var grid = Grid();

        Assert.Equal(DefectShapes.Draw(grid, WaferPattern.Loc, new Random(11)), DefectShapes.Draw(grid, WaferPattern.Loc, new Random(11)));
    }
}

public sealed class IndependenceTests
{
    [Fact]
    public void TheIndependentRenderer_NeverUsesTheTrainingGeneratorOrRenderer()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "RealTimeInference.sln")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        var project = Path.Combine(root, "src", "RealTimeInference.WaferEval");
        var sources = Directory.GetFiles(project, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal));

        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var text = File.ReadAllText(source);
            Assert.DoesNotContain("WaferMapGenerator", text, StringComparison.Ordinal);
            Assert.DoesNotContain("WaferMapRenderer", text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("RealTimeInference.Training", File.ReadAllText(Path.Combine(project, "RealTimeInference.WaferEval.csproj")), StringComparison.Ordinal);
    }
}
