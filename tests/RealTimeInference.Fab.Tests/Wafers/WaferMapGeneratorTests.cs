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
        var sizes = new WaferMapGenerator(3).Generate(20).Select(map => map.Size).Distinct().Count();

        Assert.True(sizes > 10, $"{sizes} distinct die grids");
    }

    [Fact]
    public void Generate_DiesOutsideTheCircleAreOffWafer()
    {
        var map = new WaferMapGenerator(5).Next(WaferPattern.NearFull);

        for (var row = 0; row < map.Size; row++)
        {
            for (var column = 0; column < map.Size; column++)
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
        var preprocessor = new ImagePreprocessor(new ImagePreprocessing(ImagePreprocessing.Grayscale, map.Size, map.Size, 1, [0], [1], ImagePreprocessing.Flat));
        var pixels = new float[map.Size * map.Size];

        var result = preprocessor.Preprocess(WaferMapRenderer.Render(map, map.Size), pixels);

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

    /// <summary>Mean distance, in wafer radii, of the failing dies from their centroid.</summary>
    private static double FailSpan(WaferMap map)
    {
        var points = new List<(double X, double Y)>();
        for (var row = 0; row < map.Size; row++)
        {
            for (var column = 0; column < map.Size; column++)
            {
                if (map[row, column] == WaferMap.Fail)
                {
                    points.Add(((double)column / map.Size, (double)row / map.Size));
                }
            }
        }

        var (cx, cy) = (points.Average(p => p.X), points.Average(p => p.Y));
        return points.Average(p => Math.Sqrt(((p.X - cx) * (p.X - cx)) + ((p.Y - cy) * (p.Y - cy))));
    }
}
