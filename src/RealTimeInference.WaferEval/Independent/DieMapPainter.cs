using RealTimeInference.Fab.Wafers;
using SkiaSharp;

namespace RealTimeInference.WaferEval.Independent;

/// <summary>How a tool draws its map: grey levels, pixels a die, how it is scaled, and how it is saved.</summary>
/// <param name="OffLevel">Off-wafer grey (0–20).</param>
/// <param name="PassLevel">Passing dies' grey (100–170; 127 and 128 are common).</param>
/// <param name="FailLevel">Failing dies' grey (225–255).</param>
/// <param name="PixelsPerDie">1 draws one pixel a die; more draws each die as a rectangle of that side.</param>
/// <param name="Antialias">Whether die edges that fall between pixels are blended.</param>
/// <param name="MarginFraction">A border of off-wafer grey around the map, as a fraction of its side.</param>
/// <param name="ScaleTo">Then scaled to this side in pixels (0: as drawn).</param>
/// <param name="Sampling">The scaling's sampling.</param>
/// <param name="Jpeg">Saved as JPEG (else PNG).</param>
/// <param name="JpegQuality">JPEG quality.</param>
public sealed record PaintStyle(
    byte OffLevel, byte PassLevel, byte FailLevel, double PixelsPerDie, bool Antialias, double MarginFraction,
    int ScaleTo, SKSamplingOptions Sampling, bool Jpeg, int JpegQuality);

/// <summary>
/// Paints a die map with Skia's canvas, a filled rectangle a die: other primitives than the
/// training renderer's per-pixel lookup, so its aliasing, blending and scaling are its own.
/// </summary>
public static class DieMapPainter
{
    public static byte[] Paint(byte[,] dies, PaintStyle style)
    {
        ArgumentNullException.ThrowIfNull(dies);
        ArgumentNullException.ThrowIfNull(style);
        var rows = dies.GetLength(0);
        var columns = dies.GetLength(1);
        var margin = (int)Math.Round(style.MarginFraction * Math.Max(rows, columns) * style.PixelsPerDie);
        var width = (int)Math.Ceiling(columns * style.PixelsPerDie) + (2 * margin);
        var height = (int)Math.Ceiling(rows * style.PixelsPerDie) + (2 * margin);
        using var drawn = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(drawn))
        {
            canvas.Clear(Grey(style.OffLevel));
            using var pass = new SKPaint { Color = Grey(style.PassLevel), IsAntialias = style.Antialias, Style = SKPaintStyle.Fill };
            using var fail = new SKPaint { Color = Grey(style.FailLevel), IsAntialias = style.Antialias, Style = SKPaintStyle.Fill };
            for (var row = 0; row < rows; row++)
            {
                for (var column = 0; column < columns; column++)
                {
                    var paint = dies[row, column] switch { WaferMap.Fail => fail, WaferMap.Pass => pass, _ => null };
                    if (paint is not null)
                    {
                        var left = margin + (float)(column * style.PixelsPerDie);
                        var top = margin + (float)(row * style.PixelsPerDie);
                        canvas.DrawRect(left, top, (float)style.PixelsPerDie, (float)style.PixelsPerDie, paint);
                    }
                }
            }
        }

        using var scaled = style.ScaleTo > 0 ? Scale(drawn, style.ScaleTo, style.Sampling) : null;
        using var image = SKImage.FromBitmap(scaled ?? drawn);
        using var data = image.Encode(style.Jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, style.Jpeg ? style.JpegQuality : 100);
        return data.ToArray();
    }

    /// <summary>Scales the longer side to <paramref name="side"/>, keeping the aspect ratio.</summary>
    private static SKBitmap Scale(SKBitmap drawn, int side, SKSamplingOptions sampling)
    {
        var factor = (double)side / Math.Max(drawn.Width, drawn.Height);
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(drawn.Width * factor)), Math.Max(1, (int)Math.Round(drawn.Height * factor)), SKColorType.Gray8, SKAlphaType.Opaque);
        return drawn.Resize(info, sampling);
    }

    private static SKColor Grey(byte level) => new(level, level, level);
}
