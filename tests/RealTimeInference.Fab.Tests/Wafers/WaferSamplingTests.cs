using RealTimeInference.Fab.Wafers;
using SkiaSharp;

namespace RealTimeInference.Fab.Tests.Wafers;

/// <summary>The "wafer" sampling: fail densities that stay put whatever the grid, rendering, levels or compression.</summary>
public sealed class WaferSamplingTests
{
    private static readonly ImagePreprocessing Wafer = new(
        ImagePreprocessing.Grayscale, 512, 512, 1f / 255, [0f], [1f], ImagePreprocessing.Flat, ImagePreprocessing.Wafer, Rings: 8, Sectors: 16, AlignRotation: true);

    private static readonly ImagePreprocessor Preprocessor = new(Wafer);

    /// <summary>Where the wafer's fail density sits: after the polar cells and the radial profile.</summary>
    private const int Global = 128 + 12;

    private static readonly WaferRenderStyle[] Renderings =
    [
        new(Side: 64),
        new(),
        new(PassLevel: 128),
        new(PixelsPerDie: 4, OffLevel: 20, PassLevel: 150, FailLevel: 230),
        new(Side: 300, Resampling: WaferResampling.Linear, PassLevel: 140),
        new(Side: 250, Resampling: WaferResampling.Cubic, Format: WaferImageFormat.Jpeg, JpegQuality: 75, PassLevel: 127),
        new(PixelsPerDie: 6, DieGap: 0.15, Margin: 0.08),
        new(Side: 300, Resampling: WaferResampling.Linear, DieGap: 0.2, PassLevel: 100),
        new(PixelsPerDie: 3, Format: WaferImageFormat.Jpeg, JpegQuality: 90),
    ];

    [Fact]
    public void Shape_IsTheCellsTheProfileAndTheShapeFeatures()
    {
        Assert.Equal([165], Wafer.Shape);
        Assert.Empty(Wafer.Validate());
    }

    [Fact]
    public void Validate_NamesWhatWaferSamplingNeeds()
    {
        var errors = (Wafer with { Layout = ImagePreprocessing.Nchw, Mean = [0.5f], Rings = 0 }).Validate();

        Assert.Contains(errors, e => e.Contains("preprocessing.layout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("preprocessing.scale, mean and std", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("preprocessing.rings", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(WaferPattern.None)]
    [InlineData(WaferPattern.Random)]
    [InlineData(WaferPattern.EdgeRing)]
    [InlineData(WaferPattern.Scratch)]
    [InlineData(WaferPattern.NearFull)]
    [InlineData(WaferPattern.Donut)]
    public void FailDensity_IsTheMapsWhateverTheRendering(WaferPattern pattern)
    {
        var generator = new WaferMapGenerator(5, Variety(30, 60));
        var map = generator.Next(pattern);

        foreach (var style in Renderings)
        {
            // Within 0.035, or 12 % of a high density (a near-full wafer scaled up smoothly has few flat pass dies to read the pass grey from).
            var density = Features(WaferMapRenderer.Render(map, style))[Global];
            var tolerance = Math.Max(0.035, 0.12 * map.FailFraction);
            Assert.True(Math.Abs(density - map.FailFraction) < tolerance, $"{style}: density {density:F3}, map {map.FailFraction:F3}");
        }
    }

    [Fact]
    public void SameWafer_GivesNearlyTheSameFeatures_WhateverTheRendering()
    {
        var map = new WaferMapGenerator(6, Variety(40, 60)).Next(WaferPattern.EdgeLoc);
        var reference = Features(WaferMapRenderer.Render(map, new WaferRenderStyle(PixelsPerDie: 4)));

        foreach (var style in Renderings)
        {
            var features = Features(WaferMapRenderer.Render(map, style));
            var polar = features.Take(128).Zip(reference.Take(128), (a, b) => Math.Abs(a - b)).Average();
            Assert.True(polar < 0.04, $"{style}: mean |difference| of the polar densities {polar:F3}");
        }
    }

    [Fact]
    public void RingDensities_FollowTheMap()
    {
        var map = new WaferMapGenerator(7, Variety(80, 80)).Next(WaferPattern.Donut);
        var features = Features(WaferMapRenderer.Render(map, new WaferRenderStyle(PixelsPerDie: 3, PassLevel: 128)));

        // The radial profile's bins: [0, 0.15), [0.15, 0.3), [0.3, 0.45), [0.45, 0.6), [0.6, 0.7) …
        double[] edges = [0, 0.15, 0.3, 0.45, 0.6, 0.7, 0.8];
        for (var bin = 0; bin + 1 < edges.Length; bin++)
        {
            var expected = map.FailFractionWithin(edges[bin], edges[bin + 1]);
            Assert.True(Math.Abs(features[128 + bin] - expected) < 0.08, $"ring {edges[bin]}-{edges[bin + 1]}: {features[128 + bin]:F3} vs {expected:F3}");
        }
    }

    [Fact]
    public void StrongestLine_StandsOutMoreForAScratchThanForScatter()
    {
        var options = Variety(50, 120);
        var scratches = new WaferMapGenerator(8, options);
        var scatter = new WaferMapGenerator(9, options);
        const int lineStandsOut = Global + 1 + 3 + 4 + 5;

        var scratch = Enumerable.Range(0, 20).Select(_ => Features(WaferMapRenderer.Render(scratches.Next(WaferPattern.Scratch), new WaferRenderStyle(PixelsPerDie: 2)))[lineStandsOut]).Average();
        var none = Enumerable.Range(0, 20).Select(_ => Features(WaferMapRenderer.Render(scatter.Next(WaferPattern.None), new WaferRenderStyle(PixelsPerDie: 2)))[lineStandsOut]).Average();

        Assert.True(scratch > 1.4 * none, $"scratch {scratch:F2} vs none {none:F2} standard deviations above the bands");
    }

    [Fact]
    public void HotSpots_TellALineFromABlob()
    {
        // The largest hot spot: its length (radii) and thinness (minor over major axis).
        const int length = Global + 1 + 3 + 4 + 7 + 2 + 3, thinness = length + 1;
        var options = Variety(40, 100);
        var scratches = new WaferMapGenerator(10, options);
        var blobs = new WaferMapGenerator(11, options);

        var scratch = Enumerable.Range(0, 20).Select(_ => Features(WaferMapRenderer.Render(scratches.Next(WaferPattern.Scratch), new WaferRenderStyle(PixelsPerDie: 3)))).ToList();
        var loc = Enumerable.Range(0, 20).Select(_ => Features(WaferMapRenderer.Render(blobs.Next(WaferPattern.Loc), new WaferRenderStyle(PixelsPerDie: 3)))).ToList();

        Assert.True(scratch.Average(f => f[thinness]) < loc.Average(f => f[thinness]), $"thinness: scratch {scratch.Average(f => f[thinness]):F2}, loc {loc.Average(f => f[thinness]):F2}");
        Assert.True(scratch.Average(f => f[length]) > loc.Average(f => f[length]), $"length: scratch {scratch.Average(f => f[length]):F2}, loc {loc.Average(f => f[length]):F2}");
    }

    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(40, 30, 0)]
    [InlineData(40, 30, 255)]
    [InlineData(64, 64, -1)]
    public void OddImages_AreNoWafer_AndStillGiveFiniteFeatures(int width, int height, int grey)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var random = new Random(3);
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(grey >= 0 ? grey : random.Next(256));
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var features = new float[Preprocessor.TensorLength];

        Assert.Equal(ImageStatus.NotAWafer, Preprocessor.Preprocess(png.AsSpan(), features).Status);
        Assert.All(features, f => Assert.True(float.IsFinite(f)));
    }

    private static WaferMapGeneratorOptions Variety(int minDiesAcross, int maxDiesAcross)
    {
        var options = WaferMapGeneratorOptions.FabVariety();
        (options.MinDiesAcross, options.MaxDiesAcross) = (minDiesAcross, maxDiesAcross);
        return options;
    }

    private static float[] Features(byte[] image)
    {
        var features = new float[Preprocessor.TensorLength];
        var result = Preprocessor.Preprocess(image, features);
        Assert.True(result.IsOk, result.Message);
        return features;
    }
}
