using System.Buffers;
using SkiaSharp;

namespace RealTimeInference.Fab.Wafers;

public enum ImageStatus
{
    Ok,
    /// <summary>No bytes.</summary>
    Empty,
    /// <summary>Not a PNG or JPEG.</summary>
    Unsupported,
    /// <summary>A PNG or JPEG that does not decode completely (corrupt or truncated).</summary>
    Corrupt,
    /// <summary>The header declares more pixels than allowed; nothing was decoded.</summary>
    TooLarge,
    /// <summary>It decodes, but it is no wafer map (<see cref="WaferCheck"/>): only the <c>"wafer"</c> sampling checks.</summary>
    NotAWafer,
}

/// <summary>
/// What became of one image; <see cref="Width"/> and <see cref="Height"/> are the encoded size when the
/// header was read; <see cref="Reason"/> why it is <see cref="ImageStatus.NotAWafer"/> (<see cref="WaferCheck.Reasons"/>).
/// </summary>
public readonly record struct ImageResult(ImageStatus Status, int Width = 0, int Height = 0, string? Message = null, string? Reason = null)
{
    public bool IsOk => Status == ImageStatus.Ok;
}

/// <summary>
/// Turns an encoded PNG/JPEG into a model's input tensor as its <see cref="ImagePreprocessing"/>
/// declares. The one implementation used by training and by serving, so both see the same floats.
/// </summary>
public sealed class ImagePreprocessor
{
    /// <summary>
    /// Most pixels an image may declare (4096 × 4096 = 16.7 M, 64 MiB decoded): a larger header
    /// is rejected before any pixel is decoded, so a small file cannot make the server allocate gigabytes.
    /// </summary>
    public const long DefaultMaxPixels = 4096L * 4096;

    /// <summary>Longest side an image may declare.</summary>
    public const int MaxSide = 16_384;

    private static readonly SKSamplingOptions Downsampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    private readonly ImagePreprocessing _settings;
    private readonly int[]? _cellOfPixel;
    private readonly float[]? _cellWeight;
    private readonly WaferSampler? _wafer;

    public ImagePreprocessor(ImagePreprocessing settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(settings));
        }

        _settings = settings;
        TensorLength = settings.TensorLength;
        if (settings.Sampling == ImagePreprocessing.Polar)
        {
            (_cellOfPixel, _cellWeight) = PolarCells(settings);
        }
        else if (settings.Sampling == ImagePreprocessing.Wafer)
        {
            _wafer = new WaferSampler(settings);
        }
    }

    public ImagePreprocessing Settings => _settings;

    /// <summary>Floats written per image.</summary>
    public int TensorLength { get; }

    /// <summary>
    /// Decodes <paramref name="encoded"/> and writes its <see cref="TensorLength"/> floats into
    /// <paramref name="destination"/>. Bad images are results, not exceptions.
    /// </summary>
    public ImageResult Preprocess(ReadOnlySpan<byte> encoded, Span<float> destination, long maxPixels = DefaultMaxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, TensorLength, nameof(destination));
        using var opened = Open(encoded, maxPixels, out var header);
        if (opened is null)
        {
            return header;
        }

        var (width, height) = (header.Width, header.Height);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var decoded = new SKBitmap(info);
        var result = opened.Codec.GetPixels(info, decoded.GetPixels());
        if (result != SKCodecResult.Success)
        {
            return new ImageResult(ImageStatus.Corrupt, width, height, $"The image does not decode ({result}).");
        }

        if (_wafer is not null)
        {
            if (_wafer.Sample(decoded, destination[..TensorLength]) is { IsWafer: false } check)
            {
                return new ImageResult(ImageStatus.NotAWafer, width, height, check.Message, check.Reason);
            }
        }
        else if (width == _settings.Width && height == _settings.Height)
        {
            Fill(decoded, destination);
        }
        else
        {
            using var resized = decoded.Resize(new SKImageInfo(_settings.Width, _settings.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), Downsampling);
            Fill(resized, destination);
        }

        return new ImageResult(ImageStatus.Ok, width, height);
    }

    /// <summary>
    /// Reads only the image's header: whether it is a PNG or JPEG and the size it declares, checked
    /// as <see cref="Preprocess"/> checks them, without decoding a pixel.
    /// </summary>
    public static ImageResult Measure(ReadOnlySpan<byte> encoded, long maxPixels = DefaultMaxPixels)
    {
        using var opened = Open(encoded, maxPixels, out var header);
        return header;
    }

    /// <summary>The image's bytes and a codec over them when its header is acceptable (the caller disposes both); otherwise null and why.</summary>
    private static OpenedImage? Open(ReadOnlySpan<byte> encoded, long maxPixels, out ImageResult header)
    {
        if (encoded.IsEmpty)
        {
            header = new ImageResult(ImageStatus.Empty, Message: "The image is empty (0 bytes).");
            return null;
        }

        var data = SKData.CreateCopy(encoded);
        // The codec owns the stream from here (Skia frees it with the codec, or at once on failure).
        var codec = SKCodec.Create(new SKMemoryStream(data), out var opened);
        if (codec is null)
        {
            data.Dispose();
            header = opened == SKCodecResult.IncompleteInput
                ? new ImageResult(ImageStatus.Corrupt, Message: "The image is truncated: its header is incomplete.")
                : new ImageResult(ImageStatus.Unsupported, Message: "The bytes are not a PNG or JPEG image.");
            return null;
        }

        // The header alone tells the size: refuse before a single pixel is allocated.
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        header = codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg)
            ? new ImageResult(ImageStatus.Unsupported, Message: $"{codec.EncodedFormat} images are not accepted; send PNG or JPEG.")
            : width < 1 || height < 1 || width > MaxSide || height > MaxSide || (long)width * height > maxPixels
            ? new ImageResult(ImageStatus.TooLarge, width, height, $"The image declares {width}x{height} pixels; at most {maxPixels} pixels and {MaxSide} a side are accepted.")
            : new ImageResult(ImageStatus.Ok, width, height);
        if (header.IsOk)
        {
            return new OpenedImage(data, codec);
        }

        codec.Dispose();
        data.Dispose();
        return null;
    }

    private sealed class OpenedImage(SKData data, SKCodec codec) : IDisposable
    {
        public SKCodec Codec { get; } = codec;

        public void Dispose()
        {
            Codec.Dispose();
            data.Dispose();
        }
    }

    private void Fill(SKBitmap bitmap, Span<float> destination)
    {
        if (_cellOfPixel is null)
        {
            Normalize(bitmap, destination);
            return;
        }

        var pixels = _settings.Width * _settings.Height;
        var grid = ArrayPool<float>.Shared.Rent(_settings.Channels * pixels);
        try
        {
            Normalize(bitmap, grid);
            ToPolar(grid, destination[..TensorLength]);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(grid);
        }
    }

    /// <summary>Channel-major grid of <c>(pixel * scale - mean) / std</c>: [C][H][W].</summary>
    private void Normalize(SKBitmap bitmap, Span<float> grid)
    {
        var (width, height, s) = (_settings.Width, _settings.Height, _settings);
        var pixels = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        var plane = width * height;
        for (var y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * rowBytes, width * 4);
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = (row[x * 4], row[(x * 4) + 1], row[(x * 4) + 2]);
                var i = (y * width) + x;
                if (s.Channels == 1)
                {
                    var luma = Luma(r, g, b);
                    grid[i] = ((luma * s.Scale) - s.Mean[0]) / s.Std[0];
                }
                else
                {
                    grid[i] = ((r * s.Scale) - s.Mean[0]) / s.Std[0];
                    grid[plane + i] = ((g * s.Scale) - s.Mean[1]) / s.Std[1];
                    grid[(2 * plane) + i] = ((b * s.Scale) - s.Mean[2]) / s.Std[2];
                }
            }
        }
    }

    /// <summary>Grey level of an RGB pixel: integer weights that sum to 256, so a grey pixel keeps its exact level.</summary>
    internal static byte Luma(byte r, byte g, byte b) => (byte)(((77 * r) + (150 * g) + (29 * b) + 128) >> 8);

    /// <summary>Averages the grid into ring × sector cells, then (optionally) rotates the strongest sector to the front.</summary>
    private void ToPolar(ReadOnlySpan<float> grid, Span<float> destination)
    {
        var (rings, sectors, channels) = (_settings.Rings, _settings.Sectors, _settings.Channels);
        var plane = _settings.Width * _settings.Height;
        var cells = rings * sectors;
        destination.Clear();
        for (var c = 0; c < channels; c++)
        {
            var output = destination.Slice(c * cells, cells);
            var input = grid.Slice(c * plane, plane);
            for (var p = 0; p < plane; p++)
            {
                var cell = _cellOfPixel![p];
                if (cell >= 0)
                {
                    output[cell] += input[p] * _cellWeight![cell];
                }
            }
        }

        if (_settings.AlignRotation)
        {
            WaferSampler.AlignSectors(destination, sectors);
        }
    }

    /// <summary>For each pixel its polar cell (ring · sectors + sector) inside the inscribed circle, else -1; and 1 / pixels per cell.</summary>
    private static (int[] CellOfPixel, float[] Weight) PolarCells(ImagePreprocessing s)
    {
        var cellOfPixel = new int[s.Width * s.Height];
        var counts = new int[s.Rings * s.Sectors];
        var (halfWidth, halfHeight) = (s.Width / 2.0, s.Height / 2.0);
        for (var y = 0; y < s.Height; y++)
        {
            for (var x = 0; x < s.Width; x++)
            {
                var dx = (x + 0.5 - halfWidth) / halfWidth;
                var dy = (y + 0.5 - halfHeight) / halfHeight;
                var r = Math.Sqrt((dx * dx) + (dy * dy));
                var cell = -1;
                if (r <= 1)
                {
                    var angle = Math.Atan2(dy, dx);
                    angle = angle < 0 ? angle + (2 * Math.PI) : angle;
                    var ring = Math.Min(s.Rings - 1, (int)(r * s.Rings));
                    var sector = Math.Min(s.Sectors - 1, (int)(angle / (2 * Math.PI) * s.Sectors));
                    cell = (ring * s.Sectors) + sector;
                    counts[cell]++;
                }

                cellOfPixel[(y * s.Width) + x] = cell;
            }
        }

        return (cellOfPixel, [.. counts.Select(n => n == 0 ? 0f : 1f / n)]);
    }
}
