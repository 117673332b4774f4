using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Yield;

/// <summary>Held-out regression metrics of the served (ONNX) model.</summary>
internal sealed record YieldMetrics(double RSquared, double MeanAbsoluteError, double RootMeanSquaredError)
{
    public static YieldMetrics Compute(ReadOnlySpan<float> predicted, IReadOnlyList<YieldRow> rows)
    {
        var mean = rows.Average(row => (double)row.Label);
        double absolute = 0, squared = 0, total = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var error = predicted[i] - (double)rows[i].Label;
            absolute += Math.Abs(error);
            squared += error * error;
            total += (rows[i].Label - mean) * (rows[i].Label - mean);
        }

        return new YieldMetrics(1 - (squared / total), absolute / rows.Count, Math.Sqrt(squared / rows.Count));
    }

    public IReadOnlyDictionary<string, double> ToManifest() => new SortedDictionary<string, double>(StringComparer.Ordinal)
    {
        ["mae"] = Math.Round(MeanAbsoluteError, 6),
        ["r2"] = Math.Round(RSquared, 6),
        ["rmse"] = Math.Round(RootMeanSquaredError, 6),
    };
}

/// <summary>A trained, exported and evaluated yield model, ready to publish.</summary>
internal sealed record TrainedYieldModel(
    byte[] Onnx, string InputName, string OutputName, YieldMetrics Validation, YieldMetrics Test, double ParityMaxAbsDiff, TimeSpan TrainingTime);

/// <summary>The <c>yield-forecast</c> model: boosted regression trees over <see cref="Fab.Process.YieldFeatures"/>, single-threaded from a fixed seed.</summary>
internal static class YieldTrainer
{
    public const string Name = "yield-forecast";
    public const string ScoreColumn = "Score";

    private const int Trees = 300, Leaves = 32, MinimumLeafRows = 20;
    private const double LearningRate = 0.1;

    public static string Trainer { get; } =
        $"FastTreeRegression(trees={Trees}, leaves={Leaves}, min_leaf_rows={MinimumLeafRows}, learning_rate={LearningRate}, threads=1)";

    public static IEstimator<ITransformer> CreatePipeline(MLContext ml, int seed) =>
        ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
        {
            LabelColumnName = "Label",
            FeatureColumnName = "Features",
            NumberOfTrees = Trees,
            NumberOfLeaves = Leaves,
            MinimumExampleCountPerLeaf = MinimumLeafRows,
            LearningRate = LearningRate,
            NumberOfThreads = 1,
            Seed = seed,
        });

    public static TrainedYieldModel Train(YieldDataset data, int seed)
    {
        var ml = new MLContext(seed);
        var stopwatch = Stopwatch.StartNew();
        var model = CreatePipeline(ml, seed).Fit(ml.Data.LoadFromEnumerable(data.Train));
        var trainingTime = stopwatch.Elapsed;
        var onnx = ToOnnx(ml, model);

        using var scorer = new OnnxScorer(onnx);
        var validation = YieldMetrics.Compute(Score(scorer, data.Validation), data.Validation);
        var testScores = Score(scorer, data.Test);
        var parity = ModelTrainer.MaxAbsDiff(testScores, ScoreWithMlNet(ml, model, data.Test));
        return new TrainedYieldModel(onnx, scorer.InputName, scorer.OutputName, validation, YieldMetrics.Compute(testScores, data.Test), parity, trainingTime);
    }

    public static byte[] ToOnnx(MLContext ml, ITransformer model)
    {
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(model, ml.Data.LoadFromEnumerable(Array.Empty<YieldFeatureRow>()), stream, ScoreColumn);
        return stream.ToArray();
    }

    public static float[] Score(OnnxScorer scorer, IReadOnlyList<YieldRow> rows) => scorer.Score([.. rows.Select(row => row.Features)]);

    public static float[] ScoreWithMlNet(MLContext ml, ITransformer model, IReadOnlyList<YieldRow> rows) =>
        [.. model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>(ScoreColumn)];
}
