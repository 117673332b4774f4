using System.Globalization;
using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Training.Wafers;

/// <summary>
/// Train, validation and held-out test wafers with seeds derived from the run's seed: each wafer
/// drawn with the variety fabs send (<see cref="WaferMapGeneratorOptions.FabVariety"/>), rendered in a
/// style drawn for it (<see cref="WaferRenderStyle.Draw"/>) and turned into its tensor by the serving code.
/// </summary>
internal sealed record WaferDataset(
    IReadOnlyList<WaferRow> Train,
    IReadOnlyList<WaferRow> Validation,
    IReadOnlyList<WaferRow> Test,
    ImagePreprocessing Preprocessing,
    string Generator)
{
    /// <summary>Pixels a side of the sample images, and the size the load test sends.</summary>
    public const int ImageSize = 64;

    public static WaferDataset Create(int seed, int trainPerClass, int heldOutPerClass, ImagePreprocessing preprocessing)
    {
        var preprocessor = new ImagePreprocessor(preprocessing);
        var (trainSeed, validationSeed, testSeed) = (StreamSeed(seed, 0), StreamSeed(seed, 1), StreamSeed(seed, 2));
        var options = WaferMapGeneratorOptions.FabVariety();
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"WaferMapGenerator: {WaferPatterns.All.Count} classes balanced, {options.MinDiesAcross}-{options.MaxDiesAcross} dies across (log-uniform), " +
            $"die aspect up to {options.MaxDieAspect}, centre offset up to {options.MaxCentreOffset} die, partial edge dies in {options.PartialEdgeDieChance:P0}, " +
            $"background fail rate 0-{options.MaxBackgroundFailRate}, random {options.MinRandomFailRate}-0.4, shapes in radii or dies; " +
            $"rendered as WaferRenderStyle.Draw: 1/6 64x64 PNG pass grey 110, the rest 1 px a die or scaled (nearest; bilinear or bicubic) to 48-1024 px, " +
            $"off 0-30, pass 127/128, 110 or 90-180, fail 255 or 210-254, margins 0-10 %, half JPEG quality 40-95; " +
            $"seeds train {trainSeed}, validation {validationSeed}, test {testSeed}; per class: train {trainPerClass}, validation and test {heldOutPerClass}");
        return new WaferDataset(
            Generate(preprocessor, trainSeed, trainPerClass),
            Generate(preprocessor, validationSeed, heldOutPerClass),
            Generate(preprocessor, testSeed, heldOutPerClass),
            preprocessing,
            generator);
    }

    /// <summary>
    /// <paramref name="perClass"/> wafers of each class (interleaved), rendered and preprocessed exactly
    /// as serving does. Each wafer has its own seed, so the rows are the same however many threads draw them.
    /// </summary>
    public static WaferRow[] Generate(ImagePreprocessor preprocessor, int seed, int perClass)
    {
        var options = WaferMapGeneratorOptions.FabVariety();
        var rows = new WaferRow[perClass * WaferPatterns.All.Count];
        Parallel.For(0, rows.Length, i =>
        {
            var waferSeed = unchecked((seed * 7_919) + i);
            var map = new WaferMapGenerator(waferSeed, options).Next(WaferPatterns.All[i % WaferPatterns.All.Count]);
            rows[i] = ToRow(preprocessor, map, WaferRenderStyle.Draw(new Random(~waferSeed), map));
        });
        return rows;
    }

    public static WaferRow ToRow(ImagePreprocessor preprocessor, WaferMap map, WaferRenderStyle style)
    {
        var row = new WaferRow { Features = new float[preprocessor.TensorLength], Label = (uint)map.Pattern };
        var result = preprocessor.Preprocess(WaferMapRenderer.Render(map, style), row.Features);
        return result.IsOk ? row : throw new InvalidOperationException($"A rendered wafer did not preprocess: {result.Message}");
    }

    /// <summary>One PNG per class (<c>&lt;class&gt;.png</c>) from a generator of its own seed, for trying the endpoints.</summary>
    public static int WriteSamples(string folder, int seed)
    {
        Directory.CreateDirectory(folder);
        var generator = new WaferMapGenerator(StreamSeed(seed, 3));
        foreach (var pattern in WaferPatterns.All)
        {
            File.WriteAllBytes(Path.Combine(folder, pattern.Name() + ".png"), WaferMapRenderer.Render(generator.Next(pattern), ImageSize));
        }

        return WaferPatterns.All.Count;
    }

    // Apart from the sensor streams' seeds, so no run shares a random sequence between the two.
    public static int StreamSeed(int seed, int stream) => unchecked((seed * 104_729) + 500 + stream);
}
