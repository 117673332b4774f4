namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// Whether an image is a wafer map at all, from what the sampler measured anyway: a camera that is
/// covered, off or pointed elsewhere must not pass every wafer as clean. <see cref="Reason"/> is null
/// for a wafer map, else one of <see cref="Blank"/>, <see cref="NoWaferRegion"/>, <see cref="UnreadableLevels"/>.
/// </summary>
public readonly record struct WaferCheck(string? Reason, string? Message)
{
    /// <summary>One grey (black, white, a solid colour): nothing to read.</summary>
    public const string Blank = "blank";

    /// <summary>No bright, elliptical wafer on a dark background: a gradient, noise, a photo.</summary>
    public const string NoWaferRegion = "no_wafer_region";

    /// <summary>A wafer-shaped region whose greys do not separate into background, passing and failing dies.</summary>
    public const string UnreadableLevels = "unreadable_levels";

    public static IReadOnlyList<string> Reasons { get; } = [Blank, NoWaferRegion, UnreadableLevels];

    /// <summary>At least this share of pixels within ±6 greys of one level: blank.</summary>
    private const double BlankShare = 0.97;

    /// <summary>The wafer's share of the image: below, no wafer in the frame; above, no background around it.</summary>
    private const double LeastWaferShare = 0.03, MostWaferShare = 0.95;

    /// <summary>Just outside the wafer (1.1 to 1.3 of its radii) is background: at most this share of those pixels may be as bright as the wafer.</summary>
    private const double MostBrightOutside = 0.1;

    /// <summary>Passing dies at least this many greys above the background.</summary>
    private const float LeastContrast = 45;

    /// <summary>
    /// The darkest background a wafer map is drawn on: the model knows maps on a dark one (grey 0–30
    /// in training, <see cref="WaferRenderStyle.Draw"/>); above this it is a scene, not a map.
    /// </summary>
    private const float MostOffLevel = 50;

    public bool IsWafer => Reason is null;

    internal static WaferCheck Of(
        ReadOnlySpan<int> histogram, int count, ReadOnlySpan<byte> luma, int width, int height, WaferSampler.WaferEllipse ellipse, WaferLevels levels, int threshold)
    {
        var (mostAroundOne, wafer) = (0, 0);
        for (var v = 0; v < 256; v++)
        {
            var around = 0;
            for (var d = Math.Max(0, v - 6); d <= Math.Min(255, v + 6); d++)
            {
                around += histogram[d];
            }

            mostAroundOne = Math.Max(mostAroundOne, around);
            wafer += v > threshold ? histogram[v] : 0;
        }

        if (mostAroundOne >= BlankShare * count)
        {
            return new(Blank, $"{100.0 * mostAroundOne / count:0.#} % of the image is one grey: no wafer map (a covered, dark or saturated camera?).");
        }

        var share = (double)wafer / count;
        if (share < LeastWaferShare || share > MostWaferShare)
        {
            return new(NoWaferRegion, $"The bright region is {100 * share:0.#} % of the image: no wafer on a background.");
        }

        var (outside, brightOutside) = (0, 0);
        var (inverseX, inverseY) = (1 / ellipse.RadiusX, 1 / ellipse.RadiusY);
        for (var y = 0; y < height; y++)
        {
            var v = (y + 0.5 - ellipse.CentreY) * inverseY;
            var row = luma.Slice(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var u = (x + 0.5 - ellipse.CentreX) * inverseX;
                var r = (u * u) + (v * v);
                if (r > 1.1 * 1.1 && r < 1.3 * 1.3)
                {
                    outside++;
                    brightOutside += row[x] > threshold ? 1 : 0;
                }
            }
        }

        if (outside > 0 && brightOutside > MostBrightOutside * outside)
        {
            return new(NoWaferRegion, $"{100.0 * brightOutside / outside:0.#} % of the pixels around the bright region are as bright: no wafer on a background.");
        }

        return levels.Off > MostOffLevel
            ? new(UnreadableLevels, $"The background is grey {levels.Off:0}, not dark: wafer maps are drawn on a dark one (grey 0–{MostOffLevel:0}).")
            : levels.Pass - levels.Off < LeastContrast
            ? new(UnreadableLevels, $"Passing dies (grey {levels.Pass:0}) hardly differ from the background (grey {levels.Off:0}).")
            : default;
    }
}
