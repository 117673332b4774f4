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
        var pixels = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        for (var y = 0; y < imageSize; y++)
        {
            var row = (int)((y + 0.5) * map.Size / imageSize);
            for (var x = 0; x < imageSize; x++)
            {
                var column = (int)((x + 0.5) * map.Size / imageSize);
                pixels[(y * rowBytes) + x] = map[row, column] switch
                {
                    WaferMap.Fail => FailLevel,
                    WaferMap.Pass => PassLevel,
                    _ => OffWaferLevel,
                };
            }
        }

        using var data = bitmap.Encode(
            format == WaferImageFormat.Png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg,
            format == WaferImageFormat.Png ? 100 : jpegQuality);
        return data.ToArray();
    }
}
