using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Evaluation;
using RealTimeInference.Training.Onnx;

namespace RealTimeInference.Training.Trainers;

/// <summary>A trained, exported and evaluated model, ready to publish.</summary>
internal sealed record TrainedModel(
    ModelSpec Spec,
    byte[] Onnx,
    string InputName,
    string OutputName,
    double Threshold,
    double ValidationF1,
    BinaryMetrics Test,
    double ParityMaxAbsDiff,
    TimeSpan TrainingTime);

internal static class ModelTrainer
{
    /// <summary>
    /// Fits the pipeline on the training rows, exports it, picks the threshold that maximizes F1
    /// on the validation rows and measures the held-out rows, all from the ONNX model's scores:
    /// the numbers in model.json are those of the artefact that serves.
    /// </summary>
    public static TrainedModel Train(ModelSpec spec, SensorDataset data, int seed)
    {
        var ml = new MLContext(seed);
        var stopwatch = Stopwatch.StartNew();
        var model = spec.CreatePipeline(ml, seed).Fit(SensorRow.Load(ml, data.Train));
        var trainingTime = stopwatch.Elapsed;
        var onnx = OnnxExport.ToOnnx(ml, model, data.Features.Count);

        using var scorer = new OnnxScorer(onnx);
        var validationScores = scorer.Score(Features(data.Validation));
        var validationLabels = Labels(data.Validation);
        var threshold = Math.Round(BinaryMetrics.BestF1Threshold(validationScores, validationLabels), 4);
        var validationF1 = BinaryMetrics.Compute(validationScores, validationLabels, threshold).F1;

        var testScores = scorer.Score(Features(data.Test));
        var test = BinaryMetrics.Compute(testScores, Labels(data.Test), threshold);
        var parity = MaxAbsDiff(testScores, ScoreWithMlNet(ml, model, data.Test));
        return new TrainedModel(spec, onnx, scorer.InputName, scorer.OutputName, threshold, validationF1, test, parity, trainingTime);
    }

    /// <summary>The calibrated probability ML.NET itself gives each row.</summary>
    public static float[] ScoreWithMlNet(MLContext ml, ITransformer model, IReadOnlyList<SensorRow> rows) =>
        [.. model.Transform(SensorRow.Load(ml, rows)).GetColumn<float>(SensorTrainers.ProbabilityColumn)];

    private static float[][] Features(IReadOnlyList<SensorRow> rows) => [.. rows.Select(row => row.Features)];

    private static bool[] Labels(IReadOnlyList<SensorRow> rows) => [.. rows.Select(row => row.Label)];

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var max = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        }

        return max;
    }
}
