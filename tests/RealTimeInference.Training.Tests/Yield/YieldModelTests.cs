using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Onnx;
using RealTimeInference.Training.Yield;

namespace RealTimeInference.Training.Tests.Yield;

/// <summary>A small yield model trained once, in-process.</summary>
public sealed class SmallYieldModel
{
    public SmallYieldModel()
    {
        Data = YieldDataset.Create(seed: 3, trainLots: 4_000);
        Model = YieldTrainer.Train(Data, seed: 3);
    }

    internal YieldDataset Data { get; }

    internal TrainedYieldModel Model { get; }
}

public sealed class YieldModelTests(SmallYieldModel small) : IClassFixture<SmallYieldModel>
{
    private static readonly string ModelsRoot = Path.Combine(RepositoryRoot.Path, "models");

    [Fact]
    public void OnnxPredictions_EqualMlNet_Within1e5_AndExplainMostOfTheYield()
    {
        Assert.True(small.Model.ParityMaxAbsDiff <= 1e-5, $"parity {small.Model.ParityMaxAbsDiff}");
        Assert.True(small.Model.Test.RSquared > 0.8, $"held-out R² {small.Model.Test.RSquared}");
        Assert.InRange(small.Model.Test.MeanAbsoluteError, 0, 0.06);
    }

    [Fact]
    public void OnnxModel_TakesTheYieldFeatures_AndGivesOneValueARow()
    {
        using var session = new InferenceSession(small.Model.Onnx);

        var (_, input) = Assert.Single(session.InputMetadata);
        Assert.Equal([-1, YieldFeatures.Count], input.Dimensions);
        var (_, output) = Assert.Single(session.OutputMetadata);
        Assert.Equal([-1, 1], output.Dimensions);
    }

    [Fact]
    public void Dataset_ComesFromIndependentStreams_WithSetpointsInsideTheSafeRanges()
    {
        Assert.NotEqual(small.Data.Train[0].Features, small.Data.Test[0].Features);
        foreach (var row in small.Data.Train.Take(500))
        {
            Assert.True(ProcessLimits.Default.Contains(new Setpoints(row.Features[0], row.Features[1], row.Features[2])));
            Assert.InRange(row.Label, 0f, 1f);
        }
    }

    [Fact]
    public void Manifest_ListsTheFeaturesInOrder_AndTheHeldOutRegressionMetrics()
    {
        var manifest = YieldPublisher.CreateManifest(small.Model, small.Data, seed: 3);

        Assert.Empty(manifest.Validate());
        Assert.Equal(YieldFeatures.Names, manifest.Input!.Features);
        Assert.Equal(YieldPublisher.RegressionKind, manifest.Output!.Kind);
        Assert.Equal(["mae", "r2", "rmse"], manifest.Metrics.Keys);
    }

    [Fact]
    public void BundledYieldModel_LoadsAndMatchesItsManifest()
    {
        var manifest = ModelManifest.Load(Path.Combine(ModelsRoot, YieldTrainer.Name, ModelManifest.FileName));
        using var session = new InferenceSession(Path.Combine(ModelsRoot, YieldTrainer.Name, "1", "model.onnx"));

        Assert.Equal(YieldFeatures.Names, manifest.Input!.Features);
        Assert.Equal(manifest.Input!.Name, Assert.Single(session.InputMetadata).Key);
        Assert.Contains(manifest.Output!.Name, session.OutputMetadata.Keys);
        Assert.True(manifest.Metrics["r2"] > 0.9, $"bundled yield-forecast R² {manifest.Metrics["r2"]}");

        // The bundled model predicts the hidden surface's shape: higher yield at a fresh chamber's optimum than at the nominal recipe.
        var simulator = new ProcessSimulator(new ProcessSimulatorOptions { Tools = 1 });
        using var scorer = new OnnxScorer(File.ReadAllBytes(Path.Combine(ModelsRoot, YieldTrainer.Name, "1", "model.onnx")));
        var rows = new[] { Setpoints.Nominal, simulator.Optimum(0, 0) }.Select(s =>
        {
            var row = new float[YieldFeatures.Count];
            YieldFeatures.Write(new ProcessState(s, 0, SensorStats.Healthy), row);
            return row;
        }).ToList();
        var predicted = scorer.Score(rows);
        Assert.True(predicted[1] > predicted[0] + 0.05, $"nominal {predicted[0]}, optimum {predicted[1]}");
    }
}
