using System.Security.Cryptography;
using RealTimeInference.Fab.Wafers;
using SkiaSharp;

namespace RealTimeInference.Fab.Tests.Wafers;

public sealed class WaferMapRendererTests
{
    [Fact]
    public void DefaultGeneratorAndRenderer_GiveTheBytesTheyAlwaysGave()
    {
        // The maps and images every test, sample and benchmark was built on: the options added for
        // fab variety must not change one byte of them (SHA-256 taken before those options existed).
        var all = new List<byte>();
        foreach (var seed in new[] { 1, 2, 3 })
        {
            foreach (var map in new WaferMapGenerator(seed).Generate(2))
            {
                all.AddRange(map.Dies.ToArray());
                all.AddRange(WaferMapRenderer.Render(map, 64));
                all.AddRange(WaferMapRenderer.Render(map, 100, WaferImageFormat.Jpeg, 80));
            }
        }

        Assert.Equal("A0F5F0E65C9879CEFFA12817552CF1D3E41D31BAA79B1797C6C4B674265EC7D9", Convert.ToHexString(SHA256.HashData(all.ToArray())));
    }

    [Fact]
    public void Style_OnePixelADie_DrawsEachDieInItsGrey()
    {
        var map = new WaferMapGenerator(2, WaferMapGeneratorOptions.FabVariety()).Next(WaferPattern.Random);
        var style = new WaferRenderStyle(OffLevel: 7, PassLevel: 131, FailLevel: 240);

        using var bitmap = SKBitmap.Decode(WaferMapRenderer.Render(map, style));

        Assert.Equal((map.Columns, map.Rows), (bitmap.Width, bitmap.Height));
        for (var row = 0; row < map.Rows; row++)
        {
            for (var column = 0; column < map.Columns; column++)
            {
                var expected = map[row, column] switch { WaferMap.Fail => 240, WaferMap.Pass => 131, _ => 7 };
                Assert.Equal(expected, bitmap.GetPixel(column, row).Red);
            }
        }
    }

    [Fact]
    public void Style_SideMarginAndGaps_ShapeTheImage()
    {
        var map = new WaferMapGenerator(3).Next(WaferPattern.None);
        var plain = new WaferRenderStyle(PixelsPerDie: 8);

        using var framed = SKBitmap.Decode(WaferMapRenderer.Render(map, plain with { Margin = 0.25 }));
        using var scaled = SKBitmap.Decode(WaferMapRenderer.Render(map, plain with { Side = 200, Resampling = WaferResampling.Cubic }));
        using var gapped = SKBitmap.Decode(WaferMapRenderer.Render(map, plain with { DieGap = 0.25 }));
        using var solid = SKBitmap.Decode(WaferMapRenderer.Render(map, plain));

        var margin = (int)Math.Round(0.25 * map.Columns);
        Assert.Equal((map.Columns + (2 * margin)) * 8, framed.Width);
        Assert.Equal(200, scaled.Width);
        var centre = (map.Columns / 2 * 8) + 0;
        Assert.Equal(WaferMapRenderer.PassLevel, solid.GetPixel(centre, centre).Red);
        Assert.Equal(WaferMapRenderer.OffWaferLevel, gapped.GetPixel(centre, centre).Red);
        Assert.Equal(WaferMapRenderer.PassLevel, gapped.GetPixel(centre + 4, centre + 4).Red);
    }

    [Fact]
    public void Style_OutOfRange_IsRefused()
    {
        var map = new WaferMapGenerator(1).Next(WaferPattern.None);

        Assert.Throws<ArgumentOutOfRangeException>(() => WaferMapRenderer.Render(map, new WaferRenderStyle(PixelsPerDie: 0.5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => WaferMapRenderer.Render(map, new WaferRenderStyle(DieGap: 0.9)));
        Assert.Throws<ArgumentOutOfRangeException>(() => WaferMapRenderer.Render(map, new WaferRenderStyle(Format: WaferImageFormat.Jpeg, JpegQuality: 0)));
    }

    [Fact]
    public void Draw_SpansTheStylesFabsSend()
    {
        var random = new Random(4);
        var generator = new WaferMapGenerator(4, WaferMapGeneratorOptions.FabVariety());
        var styles = Enumerable.Range(0, 300).Select(_ => WaferRenderStyle.Draw(random, generator.Next(WaferPattern.None))).ToList();

        Assert.Contains(styles, s => s.Side == 0);
        Assert.Contains(styles, s => s.Side == 64 && s.PassLevel == WaferMapRenderer.PassLevel && s.Format == WaferImageFormat.Png);
        Assert.Contains(styles, s => s.Resampling == WaferResampling.Linear);
        Assert.Contains(styles, s => s.Resampling == WaferResampling.Cubic);
        Assert.Contains(styles, s => s.PassLevel is 127 or 128);
        Assert.Contains(styles, s => s.Format == WaferImageFormat.Jpeg && s.JpegQuality < 60);
        Assert.Contains(styles, s => s.Margin > 0.05);
        Assert.Contains(styles, s => s.DieGap > 0);
        Assert.All(styles, s => Assert.InRange(s.Side, 0, WaferRenderStyle.MaxSide));
    }
}
