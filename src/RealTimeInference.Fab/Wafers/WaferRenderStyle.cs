namespace RealTimeInference.Fab.Wafers;

/// <summary>How an image is resampled from the die grid.</summary>
public enum WaferResampling
{
    /// <summary>Each pixel shows the die under its centre (blocky, aliased when not a whole number of pixels a die).</summary>
    Nearest,

    /// <summary>Drawn one pixel a die, then scaled with bilinear filtering (averaging when it shrinks).</summary>
    Linear,

    /// <summary>Drawn one pixel a die, then scaled with a bicubic filter.</summary>
    Cubic,
}

/// <summary>
/// How a tool draws a wafer map: pixels a die (or the side it scales the image to), how it
/// resamples, its grey levels, a border and the file format.
/// </summary>
/// <param name="PixelsPerDie">Pixels a die when <paramref name="Side"/> is 0.</param>
/// <param name="Side">Pixels along the image's longer side (0: <paramref name="PixelsPerDie"/> decides).</param>
/// <param name="Resampling">How dies become pixels.</param>
/// <param name="OffLevel">Grey outside the wafer.</param>
/// <param name="PassLevel">Grey of a passing die.</param>
/// <param name="FailLevel">Grey of a failing die.</param>
/// <param name="Margin">A border of off-wafer grey on each side, as a fraction of the map's longer side.</param>
/// <param name="Format">PNG or JPEG.</param>
/// <param name="JpegQuality">JPEG quality (1–100).</param>
/// <param name="DieGap">Off-wafer grey between dies, as a fraction of a die's pitch (0: dies touch), as viewers that outline dies draw them.</param>
public sealed record WaferRenderStyle(
    double PixelsPerDie = 1,
    int Side = 0,
    WaferResampling Resampling = WaferResampling.Nearest,
    byte OffLevel = WaferMapRenderer.OffWaferLevel,
    byte PassLevel = WaferMapRenderer.PassLevel,
    byte FailLevel = WaferMapRenderer.FailLevel,
    double Margin = 0,
    WaferImageFormat Format = WaferImageFormat.Png,
    int JpegQuality = 90,
    double DieGap = 0)
{
    /// <summary>Longest side a drawn style scales to.</summary>
    public const int MaxSide = 1024;

    /// <summary>
    /// A style as fabs' tools differ: a sixth the original renderer's 64 px PNG; the rest one pixel a
    /// die, or scaled (nearest up; bilinear or bicubic up or down) to 48–1024 px; off-wafer grey 0–30;
    /// pass grey 127/128 (the usual display of WM-811K's 0/1/2), 110, or 90–180; fail grey 255 or 210–254;
    /// half with a margin up to 10 %; half JPEG at quality 40–95; where dies are 3 px or more, a third
    /// with gaps of 8–25 % of a die between them.
    /// </summary>
    public static WaferRenderStyle Draw(Random random, WaferMap map)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(map);
        if (random.Next(6) == 0)
        {
            return new WaferRenderStyle(Side: 64);
        }

        var dies = Math.Max(map.Rows, map.Columns);
        var (side, resampling) = random.Next(3) switch
        {
            0 => (0, WaferResampling.Nearest),
            1 => (LogUniform(random, dies * 1.2, dies * 6.0), WaferResampling.Nearest),
            _ => (LogUniform(random, Math.Max(48, dies * 0.5), dies * 6.0), random.Next(2) == 0 ? WaferResampling.Linear : WaferResampling.Cubic),
        };
        var pass = random.Next(4) switch
        {
            0 => (byte)random.Next(127, 129),
            1 => WaferMapRenderer.PassLevel,
            _ => (byte)random.Next(90, 181),
        };
        var jpeg = random.Next(2) == 0;
        var pixelsPerDie = side == 0 ? 1 : side / (double)dies;
        var gap = (resampling != WaferResampling.Nearest || pixelsPerDie >= 3) && random.Next(3) == 0 ? 0.08 + (random.NextDouble() * 0.17) : 0;
        return new WaferRenderStyle(
            Side: side,
            Resampling: resampling,
            OffLevel: random.Next(10) < 7 ? (byte)0 : (byte)random.Next(1, 31),
            PassLevel: pass,
            FailLevel: random.Next(2) == 0 ? (byte)255 : (byte)random.Next(210, 255),
            Margin: random.Next(2) == 0 ? 0 : random.NextDouble() * 0.1,
            Format: jpeg ? WaferImageFormat.Jpeg : WaferImageFormat.Png,
            JpegQuality: jpeg ? random.Next(40, 96) : 90,
            DieGap: gap);
    }

    private static int LogUniform(Random random, double low, double high)
    {
        var (from, to) = (Math.Min(low, MaxSide), Math.Min(high, MaxSide));
        return (int)Math.Round(Math.Exp(Math.Log(from) + (random.NextDouble() * (Math.Log(to) - Math.Log(from)))));
    }
}
