using RealTimeInference.Fab.Wafers;
using SkiaSharp;

namespace RealTimeInference.Fab.Tests.Wafers;

public sealed class ImagePreprocessorTests
{
    private static readonly ImagePreprocessing Grid64 = new(ImagePreprocessing.Grayscale, 64, 64, 1f / 255, [0f], [1f], ImagePreprocessing.Flat);

    private static readonly ImagePreprocessing Polar = Grid64 with { Sampling = ImagePreprocessing.Polar, Rings = 8, Sectors = 16, AlignRotation = true };

    [Fact]
    public void Shape_FollowsLayoutAndSampling()
    {
        Assert.Equal([4096], Grid64.Shape);
        Assert.Equal([3, 64, 64], (Grid64 with { Color = ImagePreprocessing.Rgb, Mean = [0, 0, 0], Std = [1, 1, 1], Layout = ImagePreprocessing.Nchw }).Shape);
        Assert.Equal([128], Polar.Shape);
        Assert.Equal(128, Polar.TensorLength);
    }

    [Fact]
    public void Validate_NamesTheFieldAtFault()
    {
        var errors = (Grid64 with { Color = "cmyk", Std = [0f], Layout = "nhwc" }).Validate();

        Assert.Contains(errors, e => e.Contains("preprocessing.color", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("preprocessing.std", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("preprocessing.layout", StringComparison.Ordinal));
    }

    [Fact]
    public void Preprocess_GridScalesEachPixel()
    {
        var tensor = new float[4096];
        var map = new WaferMapGenerator(1).Next(WaferPattern.Donut);

        var result = new ImagePreprocessor(Grid64).Preprocess(WaferMapRenderer.Render(map, 64), tensor);

        Assert.True(result.IsOk);
        Assert.Equal((64, 64), (result.Width, result.Height));
        float[] levels = [0f, WaferMapRenderer.PassLevel / 255f, 1f];
        Assert.All(tensor, v => Assert.True(levels.Min(level => Math.Abs(level - v)) < 1e-6, $"{v}"));
    }

    [Fact]
    public void Preprocess_RgbNormalizesPerChannel()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(255, 0, 51));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var settings = new ImagePreprocessing(ImagePreprocessing.Rgb, 4, 4, 1f / 255, [0.5f, 0.5f, 0.5f], [0.5f, 0.25f, 0.5f], ImagePreprocessing.Nchw);
        var tensor = new float[48];

        Assert.True(new ImagePreprocessor(settings).Preprocess(png.AsSpan(), tensor).IsOk);

        Assert.All(tensor[..16], v => Assert.Equal(1f, v, 5));
        Assert.All(tensor[16..32], v => Assert.Equal(-2f, v, 5));
        Assert.All(tensor[32..], v => Assert.Equal(-0.6f, v, 5));
    }

    [Fact]
    public void Preprocess_LargerJpegIsResizedToTheModelsSize()
    {
        var map = new WaferMapGenerator(4).Next(WaferPattern.EdgeRing);
        var small = new float[4096];
        var large = new float[4096];
        var preprocessor = new ImagePreprocessor(Grid64);

        Assert.True(preprocessor.Preprocess(WaferMapRenderer.Render(map, 64), small).IsOk);
        var result = preprocessor.Preprocess(WaferMapRenderer.Render(map, 256, WaferImageFormat.Jpeg), large);

        Assert.True(result.IsOk);
        Assert.Equal((256, 256), (result.Width, result.Height));
        var meanDifference = small.Zip(large, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanDifference < 0.08, $"mean |difference| {meanDifference:F3}");
    }

    [Fact]
    public void Preprocess_PolarAlignmentMakesRotatedPatternsAlike()
    {
        // The same edge-loc drawn at two angles gives nearly the same polar tensor.
        var generator = new WaferMapGenerator(9);
        var map = generator.Next(WaferPattern.EdgeLoc);
        var rotated = Rotate(map);
        var preprocessor = new ImagePreprocessor(Polar);
        var (a, b) = (new float[128], new float[128]);

        Assert.True(preprocessor.Preprocess(WaferMapRenderer.Render(map), a).IsOk);
        Assert.True(preprocessor.Preprocess(WaferMapRenderer.Render(rotated), b).IsOk);

        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Average() < 0.05);
    }

    [Fact]
    public void Preprocess_EmptyBytes_IsEmpty() =>
        Assert.Equal(ImageStatus.Empty, new ImagePreprocessor(Grid64).Preprocess([], new float[4096]).Status);

    [Fact]
    public void Preprocess_NotAnImage_IsUnsupported() =>
        Assert.Equal(ImageStatus.Unsupported, new ImagePreprocessor(Grid64).Preprocess("hello, wafer"u8, new float[4096]).Status);

    [Fact]
    public void Preprocess_Gif_IsUnsupported() =>
        Assert.Equal(ImageStatus.Unsupported, new ImagePreprocessor(Grid64).Preprocess(
            "GIF89a\u0001\0\u0001\0\0\0\0;"u8, new float[4096]).Status);

    [Fact]
    public void Preprocess_TruncatedPng_IsCorrupt()
    {
        var png = WaferMapRenderer.Render(new WaferMapGenerator(6).Next(WaferPattern.Random));

        var result = new ImagePreprocessor(Grid64).Preprocess(png.AsSpan(0, png.Length / 2), new float[4096]);

        Assert.Equal(ImageStatus.Corrupt, result.Status);
    }

    [Fact]
    public void Preprocess_HugeHeader_IsRejectedBeforeDecoding()
    {
        // A header declaring 400 M pixels over a few bytes of data: refused, with the declared size.
        var bomb = ForgedPng.WithHeader(20_000, 20_000);

        var result = new ImagePreprocessor(Grid64).Preprocess(bomb, new float[4096]);

        Assert.Equal(ImageStatus.TooLarge, result.Status);
        Assert.Equal((20_000, 20_000), (result.Width, result.Height));
    }

    [Fact]
    public void Preprocess_HeaderWithinLimit_IsDecodedNotRejected() =>
        Assert.NotEqual(ImageStatus.TooLarge, new ImagePreprocessor(Grid64).Preprocess(ForgedPng.WithHeader(64, 64), new float[4096]).Status);

    [Fact]
    public void Measure_ReadsTheDeclaredSizeFromTheHeaderAlone()
    {
        // A header declaring 6 M pixels over a few bytes of data: Measure reports the declared size.
        var bomb = ForgedPng.WithHeader(3_000, 2_000);

        var header = ImagePreprocessor.Measure(bomb);

        Assert.Equal((ImageStatus.Ok, 3_000, 2_000), (header.Status, header.Width, header.Height));
        Assert.Equal(ImageStatus.TooLarge, ImagePreprocessor.Measure(bomb, maxPixels: 1_000_000).Status);
        Assert.Equal(ImageStatus.Unsupported, ImagePreprocessor.Measure("not an image"u8).Status);
    }

    private static WaferMap Rotate(WaferMap map)
    {
        var dies = new byte[map.Columns * map.Columns];
        for (var row = 0; row < map.Columns; row++)
        {
            for (var column = 0; column < map.Columns; column++)
            {
                dies[(column * map.Columns) + (map.Columns - 1 - row)] = map[row, column];
            }
        }

        return new WaferMap(map.Columns, dies, map.Pattern);
    }
}
