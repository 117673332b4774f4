using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Tests.Onnx;

public sealed class OnnxParityTests(SmallModels models) : IClassFixture<SmallModels>
{
    public static TheoryData<string> ModelNames => [SensorTrainers.TreesName, SensorTrainers.LinearName];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void OnnxScores_EqualMlNetProbabilities_Within1e5(string name)
    {
        var model = models.Models[name];
        using var scorer = new OnnxScorer(model.Onnx);

        var mlNet = ModelTrainer.ScoreWithMlNet(model.Context, model.Model, models.Rows);
        var onnx = scorer.Score([.. models.Rows.Select(row => row.Features)]);

        Assert.Equal(mlNet.Length, onnx.Length);
        for (var i = 0; i < onnx.Length; i++)
        {
            Assert.True(Math.Abs(mlNet[i] - onnx[i]) <= 1e-5, $"row {i}: ML.NET {mlNet[i]}, ONNX {onnx[i]}");
        }

        // Not a degenerate model that scores every row alike.
        Assert.True(onnx.Max() - onnx.Min() > 0.5f);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void OnnxModel_HasOneFeaturesInput_WithDynamicBatch_AndOnlyTheProbabilityOutput(string name)
    {
        using var session = new InferenceSession(models.Models[name].Onnx);

        var (inputName, input) = Assert.Single(session.InputMetadata);
        Assert.Equal(SensorTrainers.FeatureColumn, inputName);
        Assert.Equal(typeof(float), input.ElementType);
        Assert.Equal([-1, SensorFeatures.Count], input.Dimensions);

        var (outputName, output) = Assert.Single(session.OutputMetadata);
        Assert.Equal("Probability.output", outputName);
        Assert.Equal(typeof(float), output.ElementType);
        Assert.Equal([-1, 1], output.Dimensions);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void OnnxModel_ScoresABatchOf1000_AsItScoresRowByRow(string name)
    {
        using var scorer = new OnnxScorer(models.Models[name].Onnx);
        var rows = models.Rows.Take(1000).Select(row => row.Features).ToArray();

        var batched = scorer.Score(rows, batchSize: 1000);
        var single = scorer.Score(rows, batchSize: 1);

        Assert.Equal(single.Length, batched.Length);
        for (var i = 0; i < single.Length; i++)
        {
            Assert.Equal(single[i], batched[i], 1e-6f);
        }
    }

    [Fact]
    public void Training_WithTheSameSeed_ExportsTheSameBytes()
    {
        foreach (var (name, model) in models.Models)
        {
            var again = new SmallModel(model.Spec, models.Train);
            Assert.True(model.Onnx.AsSpan().SequenceEqual(again.Onnx), $"{name} differs between two runs");
        }
    }
}
