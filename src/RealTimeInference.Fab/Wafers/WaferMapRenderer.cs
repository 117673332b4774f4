using SkiaSharp;

namespace RealTimeInference.Fab.Wafers;

public enum WaferImageFormat
{
    Png,
    Jpeg,
}

/// <summary>Draws a wafer map as an inspection image: off-wafer black, passing dies grey, failing dies white.</summary>
public static class WaferMapRenderer
{
    public const byte OffWaferLevel = 0, PassLevel = 110, FailLevel = 255;

    /// <summary>The map as a square <paramref name="imageSize"/>-pixel PNG or JPEG; each pixel shows the die under its centre.</summary>
    public static byte[] Render(WaferMap map, int imageSize = 64, WaferImageFormat format = WaferImageFormat.Png, int jpegQuality = 90)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 8);
        using var bitmap = new SKBitmap(new SKImageInfo(imageSize, imageSize, SKColorType.Gray8, SKAlphaType.Opaque));
        Paint(map, bitmap, 0, new WaferRenderStyle());
        return Encode(bitmap, format, jpegQuality);
    }

    /// <summary>The map drawn as <paramref name="style"/> says; the image keeps the map's aspect.</summary>
    public static byte[] Render(WaferMap map, WaferRenderStyle style)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(style);
        if (style.PixelsPerDie < 1 || style.Side is < 0 or > 8192 || style.Margin is < 0 or > 0.5 || style.JpegQuality is < 1 or > 100 || style.DieGap is < 0 or > 0.5)
        {
            throw new ArgumentOutOfRangeException(
                nameof(style), style, "PixelsPerDie must be at least 1, Side within 0..8192, Margin and DieGap within [0, 0.5], JpegQuality within 1..100.");
        }

        var margin = (int)Math.Round(style.Margin * Math.Max(map.Rows, map.Columns));
        var (columns, rows) = (map.Columns + (2 * margin), map.Rows + (2 * margin));
        var scale = style.Side > 0 ? style.Side / (double)Math.Max(columns, rows) : style.PixelsPerDie;
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(columns * scale)), Math.Max(1, (int)Math.Round(rows * scale)), SKColorType.Gray8, SKAlphaType.Opaque);
        if (style.Resampling == WaferResampling.Nearest)
        {
            using var bitmap = new SKBitmap(info);
            Paint(map, bitmap, margin, style);
            return Encode(bitmap, style.Format, style.JpegQuality);
        }

        // Drawn a pixel a die (4 with gaps, so the gaps exist before scaling), then scaled.
        var drawn = style.DieGap > 0 ? 4 : 1;
        using var dies = new SKBitmap(new SKImageInfo(columns * drawn, rows * drawn, SKColorType.Gray8, SKAlphaType.Opaque));
        Paint(map, dies, margin, style);
        var sampling = style.Resampling == WaferResampling.Linear
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.Mitchell);
        using var scaled = dies.Resize(info, sampling);
        return Encode(scaled, style.Format, style.JpegQuality);
    }

    /// <summary>Each pixel shows the die under its centre, the map and <paramref name="margin"/> dies of border on each side filling the bitmap.</summary>
    private static void Paint(WaferMap map, SKBitmap bitmap, int margin, WaferRenderStyle style)
    {
        var pixels = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        var (rows, columns) = (map.Rows + (2 * margin), map.Columns + (2 * margin));
        for (var y = 0; y < bitmap.Height; y++)
        {
            var rowAt = (y + 0.5) * rows / bitmap.Height;
            var row = (int)rowAt - margin;
            var rowInGap = style.DieGap > 0 && InGap(rowAt, style.DieGap);
            for (var x = 0; x < bitmap.Width; x++)
            {
                var columnAt = (x + 0.5) * columns / bitmap.Width;
                var column = (int)columnAt - margin;
                var die = row < 0 || row >= map.Rows || column < 0 || column >= map.Columns || rowInGap || (style.DieGap > 0 && InGap(columnAt, style.DieGap))
                    ? WaferMap.OffWafer
                    : map[row, column];
                pixels[(y * rowBytes) + x] = die switch
                {
                    WaferMap.Fail => style.FailLevel,
                    WaferMap.Pass => style.PassLevel,
                    _ => style.OffLevel,
                };
            }
        }
    }

    /// <summary>Whether a position (in dies) falls in the gap around a die: within half the gap of a whole number.</summary>
    private static bool InGap(double at, double gap)
    {
        var within = at - Math.Floor(at);
        return within < gap / 2 || within > 1 - (gap / 2);
    }

    private static byte[] Encode(SKBitmap bitmap, WaferImageFormat format, int jpegQuality)
    {
        using var data = bitmap.Encode(
            format == WaferImageFormat.Png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg,
            format == WaferImageFormat.Png ? 100 : jpegQuality);
        return data.ToArray();
    }
}
