namespace RealTimeInference.Fab.Wafers;

/// <summary>
/// How a model wants its image (model.json <c>preprocessing</c>): decoded, converted to
/// <see cref="Color"/>, resized to <see cref="Width"/> × <see cref="Height"/>, each value
/// <c>(pixel * scale - mean[c]) / std[c]</c>, then either kept as the pixel grid
/// (<see cref="Sampling"/> "grid") or averaged into <see cref="Rings"/> × <see cref="Sectors"/>
/// polar cells of the inscribed wafer circle ("polar"), laid out "nchw" ([C, H, W]) or "flat" ([C·H·W]).
/// Polar and wafer: <c>align_rotation</c> rotates the sectors so the one with the most signal comes first.
/// "wafer" (grayscale, flat, scale 1/255, mean 0, std 1) reads the wafer's grey levels and outline from
/// the image itself and gives fail densities per wafer area (see <c>WaferSampler</c>): <see cref="Rings"/> ×
/// <see cref="Sectors"/> polar cells, a radial profile and shape features; an image longer than
/// <see cref="Width"/> is averaged down to it first (aspect kept).
/// </summary>
public sealed record ImagePreprocessing(
    string Color,
    int Width,
    int Height,
    float Scale,
    IReadOnlyList<float> Mean,
    IReadOnlyList<float> Std,
    string Layout,
    string Sampling = ImagePreprocessing.Grid,
    int Rings = 0,
    int Sectors = 0,
    bool AlignRotation = false)
{
    public const string Grayscale = "grayscale", Rgb = "rgb";
    public const string Nchw = "nchw", Flat = "flat";
    public const string Grid = "grid", Polar = "polar", Wafer = "wafer";

    public int Channels => Color == Rgb ? 3 : 1;

    /// <summary>One image's tensor shape, without the batch dimension.</summary>
    public IReadOnlyList<int> Shape
    {
        get
        {
            if (Sampling == Wafer)
            {
                return [WaferSampler.Length(Rings, Sectors)];
            }

            var (rows, columns) = Sampling == Polar ? (Rings, Sectors) : (Height, Width);
            return Layout == Nchw ? [Channels, rows, columns] : [Channels * rows * columns];
        }
    }

    /// <summary>Floats per image.</summary>
    public int TensorLength => Shape.Aggregate(1, (a, b) => a * b);

    /// <summary>Every problem, each naming its field; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Color is not (Grayscale or Rgb))
        {
            errors.Add("preprocessing.color must be 'grayscale' or 'rgb'");
        }

        if (Width is < 1 or > 1024 || Height is < 1 or > 1024)
        {
            errors.Add("preprocessing.width and preprocessing.height must be within 1..1024");
        }

        if (!float.IsFinite(Scale) || Scale == 0)
        {
            errors.Add("preprocessing.scale must be a finite non-zero number");
        }

        if (Mean is null || Std is null || Mean.Count != Channels || Std.Count != Channels || Std.Any(s => !float.IsFinite(s) || s == 0))
        {
            errors.Add("preprocessing.mean and preprocessing.std need one value per channel, std non-zero");
        }

        if (Layout is not (Nchw or Flat))
        {
            errors.Add("preprocessing.layout must be 'nchw' or 'flat'");
        }

        if (Sampling is not (Grid or Polar or Wafer))
        {
            errors.Add("preprocessing.sampling must be 'grid', 'polar' or 'wafer'");
        }
        else if (Sampling == Polar && (Rings is < 1 or > 256 || Sectors is < 1 or > 256))
        {
            errors.Add("preprocessing.rings and preprocessing.sectors must be within 1..256 for polar sampling");
        }
        else if (Sampling == Wafer)
        {
            if (Rings is < 1 or > 16 || Sectors is < 1 or > 64)
            {
                errors.Add("preprocessing.rings (1..16) and preprocessing.sectors (1..64) are required for wafer sampling");
            }

            if (Color != Grayscale || Layout != Flat || Width != Height || Width < 16)
            {
                errors.Add("preprocessing.color, preprocessing.layout, preprocessing.width and preprocessing.height: wafer sampling needs 'grayscale', 'flat' and a square working size of at least 16");
            }

            if (Math.Abs(Scale - (1f / 255)) > 1e-6 || Mean is not [0f] || Std is not [1f])
            {
                errors.Add("preprocessing.scale, mean and std must be 1/255, [0] and [1] for wafer sampling: its values are fail densities");
            }
        }

        return errors;
    }
}
