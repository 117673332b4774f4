using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Trainers;
using RealTimeInference.Training.Wafers;

namespace RealTimeInference.Training.Tests.Wafers;

public sealed class WaferModelTests(SmallWaferModel small) : IClassFixture<SmallWaferModel>
{
    private static readonly string Folder = Path.Combine(RepositoryRoot.Path, "models", WaferTrainer.Name);

    [Fact]
    public void OnnxClassProbabilities_EqualMlNets_Within1e5()
    {
        using var scorer = new OnnxScorer(small.Onnx);

        var onnx = WaferTrainer.Score(scorer, small.Data.Test);
        var mlNet = WaferTrainer.ScoreWithMlNet(small.Context, small.Model, small.Data.Test, SmallWaferModel.Width);

        Assert.Equal(small.Data.Test.Count * 9, onnx.Length);
        Assert.Equal(mlNet.Length, onnx.Length);
        Assert.True(ModelTrainer.MaxAbsDiff(onnx, mlNet) < 1e-5, $"max |ONNX - ML.NET| = {ModelTrainer.MaxAbsDiff(onnx, mlNet)}");
    }

    [Fact]
    public void OnnxModel_TakesOnlyTheImageTensor_AndGivesOneProbabilityPerClass()
    {
        using var session = new InferenceSession(small.Onnx);

        var (name, input) = Assert.Single(session.InputMetadata);
        Assert.Equal(WaferTrainer.FeatureColumn, name);
        Assert.Equal([-1, SmallWaferModel.Width], input.Dimensions);
        Assert.Equal([-1, 9], session.OutputMetadata["Score.output"].Dimensions);
    }

    [Fact]
    public void ClassProbabilities_SumToOne_AndSlotIIsClassI()
    {
        using var scorer = new OnnxScorer(small.Onnx);
        var train = small.Data.Train;

        var scores = WaferTrainer.Score(scorer, train);

        var correct = 0;
        for (var i = 0; i < train.Count; i++)
        {
            var row = scores.AsSpan(i * 9, 9);
            var sum = 0f;
            foreach (var p in row)
            {
                sum += p;
            }

            Assert.Equal(1f, sum, 4);
            correct += WaferMetrics.ArgMax(row) == (int)train[i].Pattern ? 1 : 0;
        }

        Assert.True(correct > train.Count * 0.9, $"{correct} of {train.Count} training wafers scored as their own class");
    }

    [Theory]
    [InlineData(0, WaferResampling.Nearest, WaferImageFormat.Png)]
    [InlineData(300, WaferResampling.Linear, WaferImageFormat.Jpeg)]
    public void TrainingRows_AreTheTensorsServingBuildsFromTheSameImage(int side, WaferResampling resampling, WaferImageFormat format)
    {
        var map = new WaferMapGenerator(3, WaferMapGeneratorOptions.FabVariety()).Next(WaferPattern.Scratch);
        var style = new WaferRenderStyle(Side: side, Resampling: resampling, Format: format, PassLevel: 128);
        var preprocessor = new ImagePreprocessor(WaferTrainer.Preprocessing);
        var served = new float[preprocessor.TensorLength];

        var row = WaferDataset.ToRow(preprocessor, map, style);
        Assert.True(preprocessor.Preprocess(WaferMapRenderer.Render(map, style), served).IsOk);

        Assert.Equal(served, row.Features);
        Assert.Equal(WaferPattern.Scratch, row.Pattern);
    }

    [Fact]
    public void Training_WithTheSameSeed_ExportsTheSameBytes()
    {
        var again = new SmallWaferModel();

        Assert.Equal(small.Onnx, again.Onnx);
    }

    [Fact]
    public void Metrics_CountDetectionsFalseAlarmsAndConfusion()
    {
        // Two wafers: a clean one called clean, a centre called scratch (detected, wrong class).
        float[] scores = [0.9f, 0, 0, 0, 0, 0, 0, 0, 0.1f, 0.1f, 0.2f, 0, 0, 0, 0, 0, 0, 0.7f];

        var metrics = WaferMetrics.Compute(scores, [WaferPattern.None, WaferPattern.Center], 0.5);

        Assert.Equal(1.0, metrics.DetectionRate);
        Assert.Equal(0.0, metrics.FalseAlarmRate);
        Assert.Equal(0.5, metrics.Accuracy);
        Assert.Equal(1, metrics.ConfusionMatrix[0][0]);
        Assert.Equal(1, metrics.ConfusionMatrix[1][8]);
    }

    [Fact]
    public void BundledWaferModel_MeetsTheTargets_OnHeldOutWafers()
    {
        var manifest = ModelManifest.Load(Path.Combine(Folder, ModelManifest.FileName));

        Assert.True(manifest.Metrics["detection_rate"] >= 0.95, $"detection {manifest.Metrics["detection_rate"]}");
        Assert.True(manifest.Metrics["false_alarm_rate"] <= 0.05, $"false alarms {manifest.Metrics["false_alarm_rate"]}");
        Assert.True(manifest.Metrics["macro_f1"] >= 0.85, $"macro-F1 {manifest.Metrics["macro_f1"]}");
        Assert.Equal(WaferPatterns.Names, manifest.Classes);
        Assert.Equal(WaferTrainer.Preprocessing.Shape, manifest.Preprocessing!.Shape);
        Assert.Equal(WaferTrainer.Preprocessing.Sampling, manifest.Preprocessing.Sampling);
        Assert.Equal(9, manifest.ConfusionMatrix!.Count);
        Assert.Equal(manifest.Provenance!.TestRows, manifest.ConfusionMatrix.Sum(row => row.Sum()));
    }

    [Fact]
    public void BundledWaferOnnx_MatchesItsManifest()
    {
        var manifest = ModelManifest.Load(Path.Combine(Folder, ModelManifest.FileName));
        using var session = new InferenceSession(Path.Combine(Folder, "1", "model.onnx"));

        var (name, input) = Assert.Single(session.InputMetadata);
        Assert.Equal(manifest.Input!.Name, name);
        Assert.Equal([-1, manifest.InputLength], input.Dimensions);
        Assert.Equal([-1, manifest.OutputCount], session.OutputMetadata[manifest.Output!.Name].Dimensions);
    }
}
