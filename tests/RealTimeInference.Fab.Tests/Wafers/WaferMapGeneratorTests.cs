using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Fab.Tests.Wafers;

public sealed class WaferMapGeneratorTests
{
    private const int Maps = 60;

    [Fact]
    public void Generate_SameSeed_GivesTheSameMaps()
    {
        var a = new WaferMapGenerator(11).Generate(3).ToList();
        var b = new WaferMapGenerator(11).Generate(3).ToList();

        Assert.Equal(27, a.Count);
        Assert.All(a.Zip(b), pair => Assert.True(pair.First.Dies.SequenceEqual(pair.Second.Dies)));
        Assert.Equal(WaferPatterns.All, a.Take(9).Select(map => map.Pattern));
    }

    [Fact]
    public void Generate_VariesTheDieGrid()
    {
        var sizes = new WaferMapGenerator(3).Generate(20).Select(map => map.Columns).Distinct().Count();

        Assert.True(sizes > 10, $"{sizes} distinct die grids");
    }

    [Fact]
    public void Generate_DiesOutsideTheCircleAreOffWafer()
    {
        var map = new WaferMapGenerator(5).Next(WaferPattern.NearFull);

        for (var row = 0; row < map.Columns; row++)
        {
            for (var column = 0; column < map.Columns; column++)
            {
                Assert.Equal(map.Radius(row, column) > 1, map[row, column] == WaferMap.OffWafer);
            }
        }
    }

    [Theory]
    [InlineData(WaferPattern.None, 0.0, 1.0, 0.0, 0.04)]
    [InlineData(WaferPattern.Random, 0.0, 1.0, 0.15, 0.45)]
    [InlineData(WaferPattern.NearFull, 0.0, 1.0, 0.7, 1.0)]
    [InlineData(WaferPattern.Center, 0.0, 0.15, 0.6, 1.0)]
    [InlineData(WaferPattern.Center, 0.8, 1.0, 0.0, 0.05)]
    [InlineData(WaferPattern.Donut, 0.0, 0.15, 0.0, 0.05)]
    [InlineData(WaferPattern.Donut, 0.45, 0.6, 0.5, 1.0)]
    [InlineData(WaferPattern.EdgeRing, 0.93, 1.0, 0.6, 1.0)]
    [InlineData(WaferPattern.EdgeRing, 0.0, 0.7, 0.0, 0.05)]
    [InlineData(WaferPattern.EdgeLoc, 0.9, 1.0, 0.1, 0.5)]
    [InlineData(WaferPattern.EdgeLoc, 0.0, 0.6, 0.0, 0.05)]
    [InlineData(WaferPattern.Loc, 0.0, 1.0, 0.03, 0.2)]
    [InlineData(WaferPattern.Loc, 0.93, 1.0, 0.0, 0.05)]
    [InlineData(WaferPattern.Scratch, 0.0, 1.0, 0.02, 0.12)]
    public void Generate_EachClassHasItsSignatureFailureProfile(WaferPattern pattern, double inner, double outer, double min, double max)
    {
        var generator = new WaferMapGenerator(21);
        var mean = Enumerable.Range(0, Maps).Select(_ => generator.Next(pattern).FailFractionWithin(inner, outer)).Average();

        Assert.InRange(mean, min, max);
    }

    [Fact]
    public void Generate_ScratchIsALineNotABlob()
    {
        // A scratch's failing dies stretch far apart; a loc's stay within a small disc (no background noise here).
        var generator = new WaferMapGenerator(8, new WaferMapGeneratorOptions { MaxBackgroundFailRate = 0 });
        var scratchSpan = Enumerable.Range(0, Maps).Select(_ => FailSpan(generator.Next(WaferPattern.Scratch))).Average();
        var locSpan = Enumerable.Range(0, Maps).Select(_ => FailSpan(generator.Next(WaferPattern.Loc))).Average();

        Assert.True(scratchSpan > 1.5 * locSpan, $"scratch span {scratchSpan:F2}, loc span {locSpan:F2}");
    }

    [Fact]
    public void Render_PngShowsEachDieAtItsLevel()
    {
        var map = new WaferMapGenerator(2).Next(WaferPattern.Center);
        var preprocessor = new ImagePreprocessor(new ImagePreprocessing(ImagePreprocessing.Grayscale, map.Columns, map.Columns, 1, [0], [1], ImagePreprocessing.Flat));
        var pixels = new float[map.Columns * map.Columns];

        var result = preprocessor.Preprocess(WaferMapRenderer.Render(map, map.Columns), pixels);

        Assert.True(result.IsOk);
        for (var i = 0; i < pixels.Length; i++)
        {
            var expected = map.Dies[i] switch
            {
                WaferMap.Fail => WaferMapRenderer.FailLevel,
                WaferMap.Pass => WaferMapRenderer.PassLevel,
                _ => WaferMapRenderer.OffWaferLevel,
            };
            Assert.Equal(expected, pixels[i]);
        }
    }

    [Fact]
    public void FabVariety_SpansGridsShapesAndEdgeRules()
    {
        var generator = new WaferMapGenerator(12, WaferMapGeneratorOptions.FabVariety());
        var maps = Enumerable.Range(0, 200).Select(i => generator.Next(WaferPatterns.All[i % 9])).ToList();

        Assert.InRange(maps.Min(m => m.Columns), 20, 25);
        Assert.InRange(maps.Max(m => m.Columns), 200, 301);
        Assert.Contains(maps, m => Math.Abs(m.Rows - m.Columns) > m.Columns / 10);
        Assert.Contains(maps, m => Math.Abs(m.Centre.Column - (m.Columns / 2.0)) > 0.2);
        Assert.All(maps, m =>
        {
            for (var row = 0; row < m.Rows; row++)
            {
                for (var column = 0; column < m.Columns; column++)
                {
                    var r = m.Radius(row, column);
                    // Inside the wafer a die is always on it; a die can be on it beyond only by being cut by the edge.
                    Assert.True(r <= 1 ? m[row, column] != WaferMap.OffWafer : m[row, column] == WaferMap.OffWafer || r < 1 + (2.0 / m.Columns * 1.5));
                }
            }
        });
    }

    [Theory]
    [InlineData(WaferPattern.None, 0.0, 1.0, 0.0, 0.05)]
    [InlineData(WaferPattern.Random, 0.0, 1.0, 0.1, 0.45)]
    [InlineData(WaferPattern.EdgeRing, 0.97, 1.2, 0.4, 1.0)]
    [InlineData(WaferPattern.EdgeRing, 0.0, 0.6, 0.0, 0.05)]
    [InlineData(WaferPattern.Center, 0.0, 0.15, 0.5, 1.0)]
    [InlineData(WaferPattern.Scratch, 0.0, 1.0, 0.01, 0.12)]
    public void FabVariety_KeepsEachClassSignature(WaferPattern pattern, double inner, double outer, double min, double max)
    {
        var generator = new WaferMapGenerator(22, WaferMapGeneratorOptions.FabVariety());
        var mean = Enumerable.Range(0, Maps).Select(_ => generator.Next(pattern).FailFractionWithin(inner, outer)).Average();

        Assert.InRange(mean, min, max);
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedByName()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new WaferMapGenerator(1, new WaferMapGeneratorOptions { MaxDieAspect = 0.5 }));

        Assert.Equal(nameof(WaferMapGeneratorOptions.MaxDieAspect), error.ParamName);
    }

    /// <summary>Mean distance, in wafer radii, of the failing dies from their centroid.</summary>
    private static double FailSpan(WaferMap map)
    {
        var points = new List<(double X, double Y)>();
        for (var row = 0; row < map.Rows; row++)
        {
            for (var column = 0; column < map.Columns; column++)
            {
                if (map[row, column] == WaferMap.Fail)
                {
                    points.Add(((double)column / map.Columns, (double)row / map.Columns));
                }
            }
        }

        var (cx, cy) = (points.Average(p => p.X), points.Average(p => p.Y));
        return points.Average(p => Math.Sqrt(((p.X - cx) * (p.X - cx)) + ((p.Y - cy) * (p.Y - cy))));
    }
}
