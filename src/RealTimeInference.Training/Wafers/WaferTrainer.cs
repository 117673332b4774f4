using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Wafers;

/// <summary>A trained, exported and evaluated wafer classifier, ready to publish.</summary>
internal sealed record TrainedWaferModel(
    byte[] Onnx,
    string InputName,
    string OutputName,
    double Threshold,
    WaferMetrics Validation,
    WaferMetrics Test,
    double ParityMaxAbsDiff,
    TimeSpan TrainingTime);

/// <summary>
/// The <c>wafer-defect</c> model: LightGBM multi-class (softmax) over the preprocessed image
/// tensor, single-threaded from a fixed seed so a re-run reproduces it.
/// </summary>
internal static class WaferTrainer
{
    public const string Name = "wafer-defect";
    public const string FeatureColumn = "Features";
    public const string LabelColumn = "Label";
    public const string ScoreColumn = "Score";

    private const int Iterations = 400, Leaves = 31, MinimumLeafRows = 10;
    private const double LearningRate = 0.1;

    public static string Trainer { get; } =
        $"LightGbmMulticlass(softmax, iterations={Iterations}, leaves={Leaves}, min_leaf_rows={MinimumLeafRows}, learning_rate={LearningRate}, threads=1)";

    /// <summary>
    /// What the model sees: fail densities per wafer area (<see cref="ImagePreprocessing.Wafer"/>), read
    /// with the image's own grey levels and outline, so die size, rendering and compression do not
    /// move them: 8 rings x 16 sectors turned so the strongest sector comes first, a radial profile and
    /// shape features (edge arc, clustering, the strongest line). Images over 512 px are averaged down first.
    /// </summary>
    public static ImagePreprocessing Preprocessing { get; } = new(
        ImagePreprocessing.Grayscale,
        Width: WorkingSide,
        Height: WorkingSide,
        Scale: 1f / 255,
        Mean: [0f],
        Std: [1f],
        Layout: ImagePreprocessing.Flat,
        Sampling: ImagePreprocessing.Wafer,
        Rings: 8,
        Sectors: 16,
        AlignRotation: true);

    /// <summary>Longest side the wafer preprocessing works at.</summary>
    public const int WorkingSide = 512;

    public static IEstimator<ITransformer> CreatePipeline(MLContext ml, int seed) =>
        ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
        {
            LabelColumnName = LabelColumn,
            FeatureColumnName = FeatureColumn,
            NumberOfIterations = Iterations,
            NumberOfLeaves = Leaves,
            MinimumExampleCountPerLeaf = MinimumLeafRows,
            LearningRate = LearningRate,
            UseSoftmax = true,
            NumberOfThreads = 1,
            Seed = seed,
            Silent = true,
        });

    /// <summary>
    /// Fits on the training wafers, exports, picks the detection threshold on the validation
    /// wafers and measures the held-out ones, all from the ONNX model's scores.
    /// </summary>
    public static TrainedWaferModel Train(WaferDataset data, int seed)
    {
        var ml = new MLContext(seed);
        var width = data.Preprocessing.TensorLength;
        var stopwatch = Stopwatch.StartNew();
        var model = CreatePipeline(ml, seed).Fit(WaferRow.Load(ml, data.Train, width));
        var trainingTime = stopwatch.Elapsed;
        var onnx = ToOnnx(ml, model, width);

        using var scorer = new OnnxScorer(onnx);
        var validationScores = Score(scorer, data.Validation);
        var threshold = WaferMetrics.BestThreshold(validationScores, Labels(data.Validation));
        var testScores = Score(scorer, data.Test);
        var parity = ModelTrainer.MaxAbsDiff(testScores, ScoreWithMlNet(ml, model, data.Test, width));
        return new TrainedWaferModel(
            onnx,
            scorer.InputName,
            scorer.OutputName,
            threshold,
            WaferMetrics.Compute(validationScores, Labels(data.Validation), threshold),
            WaferMetrics.Compute(testScores, Labels(data.Test), threshold),
            parity,
            trainingTime);
    }

    public static byte[] ToOnnx(MLContext ml, ITransformer model, int width)
    {
        var servingSchema = ml.Data.LoadFromEnumerable(Array.Empty<WaferRow>(), WaferRow.Schema(width, withLabel: false));
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(model, servingSchema, stream, ScoreColumn);
        return stream.ToArray();
    }

    public static float[] Score(OnnxScorer scorer, IReadOnlyList<WaferRow> rows) =>
        scorer.Score([.. rows.Select(row => row.Features)], outputs: WaferPatterns.All.Count);

    /// <summary>The class probabilities ML.NET itself gives each row, row-major.</summary>
    public static float[] ScoreWithMlNet(MLContext ml, ITransformer model, IReadOnlyList<WaferRow> rows, int width) =>
        [.. model.Transform(WaferRow.Load(ml, rows, width)).GetColumn<float[]>(ScoreColumn).SelectMany(scores => scores)];

    private static WaferPattern[] Labels(IReadOnlyList<WaferRow> rows) => [.. rows.Select(row => row.Pattern)];
}
