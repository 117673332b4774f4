using System.Globalization;
using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Training.Wafers;

/// <summary>
/// Train, validation and held-out test wafers from three generators with seeds derived from the
/// run's seed, each wafer rendered to a PNG and turned into its tensor by the serving code.
/// </summary>
internal sealed record WaferDataset(
    IReadOnlyList<WaferRow> Train,
    IReadOnlyList<WaferRow> Validation,
    IReadOnlyList<WaferRow> Test,
    ImagePreprocessing Preprocessing,
    string Generator)
{
    /// <summary>Pixels a side of the training images, the size inspection clients are expected to send.</summary>
    public const int ImageSize = 64;

    public static WaferDataset Create(int seed, int trainPerClass, int heldOutPerClass, ImagePreprocessing preprocessing)
    {
        var preprocessor = new ImagePreprocessor(preprocessing);
        var (trainSeed, validationSeed, testSeed) = (StreamSeed(seed, 0), StreamSeed(seed, 1), StreamSeed(seed, 2));
        var options = new WaferMapGeneratorOptions();
        var generator = string.Create(
            CultureInfo.InvariantCulture,
            $"WaferMapGenerator: {WaferPatterns.All.Count} classes balanced, {options.MinDiesAcross}-{options.MaxDiesAcross} dies across, " +
            $"background fail rate 0-{options.MaxBackgroundFailRate}, rendered as {ImageSize}x{ImageSize} PNG; " +
            $"seeds train {trainSeed}, validation {validationSeed}, test {testSeed}; per class: train {trainPerClass}, validation and test {heldOutPerClass}");
        return new WaferDataset(
            Generate(preprocessor, trainSeed, trainPerClass),
            Generate(preprocessor, validationSeed, heldOutPerClass),
            Generate(preprocessor, testSeed, heldOutPerClass),
            preprocessing,
            generator);
    }

    /// <summary><paramref name="perClass"/> wafers of each class, rendered and preprocessed exactly as serving does.</summary>
    public static WaferRow[] Generate(ImagePreprocessor preprocessor, int seed, int perClass)
    {
        var generator = new WaferMapGenerator(seed);
        return [.. generator.Generate(perClass).Select(map => ToRow(preprocessor, map))];
    }

    public static WaferRow ToRow(ImagePreprocessor preprocessor, WaferMap map)
    {
        var row = new WaferRow { Features = new float[preprocessor.TensorLength], Label = (uint)map.Pattern };
        var result = preprocessor.Preprocess(WaferMapRenderer.Render(map, ImageSize), row.Features);
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
