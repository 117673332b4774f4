using RealTimeInference.Fab.Wafers;
using SkiaSharp;

namespace RealTimeInference.Fab.Tests.Wafers;

/// <summary>A dead, covered or misaimed camera is no wafer: such frames are refused before the model, while wafer maps pass.</summary>
public sealed class WaferCheckTests
{
    private static readonly ImagePreprocessor Preprocessor = new(new ImagePreprocessing(
        ImagePreprocessing.Grayscale, 512, 512, 1f / 255, [0f], [1f], ImagePreprocessing.Flat, ImagePreprocessing.Wafer, Rings: 8, Sectors: 16, AlignRotation: true));

    /// <summary>Frames a camera sends when it sees no wafer: a colour (r, g, b) per pixel of a 320 × 240 frame.</summary>
    public static TheoryData<string, string> NonWafers => new()
    {
        { "black", WaferCheck.Blank },
        { "white", WaferCheck.Blank },
        { "grey", WaferCheck.Blank },
        { "green", WaferCheck.Blank },
        { "uniform-noise", WaferCheck.NoWaferRegion },
        { "grey-noise", WaferCheck.NoWaferRegion },
        { "horizontal-gradient", WaferCheck.NoWaferRegion },
        { "vertical-gradient", WaferCheck.NoWaferRegion },
        { "diagonal-gradient", WaferCheck.NoWaferRegion },
        { "checkerboard", WaferCheck.NoWaferRegion },
        { "stripes", WaferCheck.NoWaferRegion },
        { "test-pattern", WaferCheck.NoWaferRegion },
        // A browser's fake camera: a bright disc (less a wedge) on green, a clock and corner marks.
        { "pacman", WaferCheck.UnreadableLevels },
        { "grey-disc", WaferCheck.UnreadableLevels },
    };

    private static (byte R, byte G, byte B) Pixel(string name, int x, int y, Random random) => name switch
    {
        "black" => (0, 0, 0),
        "white" => (255, 255, 255),
        "grey" => (128, 128, 128),
        "green" => (30, 200, 40),
        "uniform-noise" => ((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)),
        "grey-noise" => Grey(128 + (int)(20 * Gaussian(random))),
        "horizontal-gradient" => Grey(x * 255 / 319),
        "vertical-gradient" => Grey(y * 255 / 239),
        "diagonal-gradient" => Grey((x + y) * 255 / 558),
        "checkerboard" => Grey(((x / 16) + (y / 16)) % 2 == 0 ? 20 : 230),
        "stripes" => Grey(x / 20 % 2 == 0 ? 10 : 200),
        "pacman" => (x - 160) * (x - 160) + ((y - 120) * (y - 120)) < 50 * 50 && !(x > 160 && Math.Abs(y - 120) < (x - 160) / 2)
            ? ((byte)80, (byte)255, (byte)30)
            : (x < 12 || x >= 308) && (y < 12 || y >= 228) ? ((byte)0, (byte)255, (byte)0) : ((byte)0, (byte)128, (byte)0),
        "grey-disc" => (x - 160) * (x - 160) + ((y - 120) * (y - 120)) < 90 * 90 ? Grey(200) : Grey(90),
        // A camera's colour bars with a dark disc in the middle.
        _ => (x - 160) * (x - 160) + ((y - 120) * (y - 120)) < 40 * 40 ? ((byte)0, (byte)0, (byte)0) : Bars(x),
    };

    private static (byte, byte, byte) Bars(int x) => (x / 46) switch
    {
        0 => (235, 235, 235),
        1 => (235, 235, 16),
        2 => (16, 235, 235),
        3 => (16, 235, 16),
        4 => (235, 16, 235),
        5 => (235, 16, 16),
        _ => (16, 16, 235),
    };

    private static (byte, byte, byte) Grey(int level) => ((byte)Math.Clamp(level, 0, 255), (byte)Math.Clamp(level, 0, 255), (byte)Math.Clamp(level, 0, 255));

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static byte[] Frame(string name, SKEncodedImageFormat format)
    {
        var random = new Random(7);
        using var bitmap = new SKBitmap(new SKImageInfo(320, 240, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 240; y++)
        {
            for (var x = 0; x < 320; x++)
            {
                var (r, g, b) = Pixel(name, x, y, random);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        }

        using var encoded = bitmap.Encode(format, 85);
        return encoded.ToArray();
    }

    [Theory]
    [MemberData(nameof(NonWafers))]
    public void NonWaferFrames_AreRefused_WithTheirReason(string name, string reason)
    {
        foreach (var format in new[] { SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg })
        {
            var result = Preprocessor.Preprocess(Frame(name, format), new float[Preprocessor.TensorLength]);

            Assert.True(result.Status == ImageStatus.NotAWafer, $"{name} {format}: {result.Status}");
            Assert.True(result.Reason == reason, $"{name} {format}: {result.Reason} ({result.Message})");
            Assert.False(string.IsNullOrEmpty(result.Message));
        }
    }

    [Fact]
    public void GeneratedWaferMaps_OfEveryPatternAndRendering_AllPass()
    {
        var generator = new WaferMapGenerator(21, WaferMapGeneratorOptions.FabVariety());
        var random = new Random(22);
        var refused = new List<string>();
        for (var i = 0; i < 1000; i++)
        {
            var map = generator.Next(WaferPatterns.All[i % WaferPatterns.All.Count]);
            var style = WaferRenderStyle.Draw(random, map);
            var result = Preprocessor.Preprocess(WaferMapRenderer.Render(map, style), new float[Preprocessor.TensorLength]);
            if (!result.IsOk)
            {
                refused.Add($"{map.Pattern} {style}: {result.Reason} {result.Message}");
            }
        }

        Assert.True(refused.Count == 0, string.Join("\n", refused));
    }
}
