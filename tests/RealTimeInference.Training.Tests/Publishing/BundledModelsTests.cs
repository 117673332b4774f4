using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Fab.Traces;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Tests.Publishing;

/// <summary>The models committed under models/ are the ones the server loads: they must be coherent.</summary>
public sealed class BundledModelsTests
{
    private static readonly string ModelsRoot = Path.Combine(RepositoryRoot.Path, "models");

    public static TheoryData<string> ModelNames => [SensorTrainers.TreesName, SensorTrainers.LinearName];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void BundledModel_LoadsAndValidates(string name)
    {
        var manifest = ModelManifest.Load(Path.Combine(ModelsRoot, name, ModelManifest.FileName));

        Assert.Empty(manifest.Validate());
        Assert.Equal(name, manifest.Name);
        Assert.Equal(SensorFeatures.Names, manifest.Input!.Features);
        Assert.Equal("probability", manifest.Output!.Kind);
        Assert.InRange(manifest.Threshold, 0.01, 0.99);
        Assert.Equal(new BatchingSettings(256, 0, 8192, "shed-oldest"), manifest.Batching);
        Assert.Equal(new ThreadSettings(1, 1), manifest.Threads);
        Assert.Equal("ML.NET 5.0.1", manifest.Provenance!.Framework);
        Assert.True(manifest.Provenance!.TrainRows > 0 && manifest.Provenance!.TestRows > 0);
        foreach (var metric in new[] { "auc", "precision", "recall", "f1", "accuracy" })
        {
            Assert.InRange(manifest.Metrics[metric], 0.0, 1.0);
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void BundledOnnx_InputAndOutputNames_MatchTheManifest(string name)
    {
        var manifest = ModelManifest.Load(Path.Combine(ModelsRoot, name, ModelManifest.FileName));
        using var session = new InferenceSession(Path.Combine(ModelsRoot, name, "1", "model.onnx"));

        var (inputName, input) = Assert.Single(session.InputMetadata);
        Assert.Equal(manifest.Input!.Name, inputName);
        Assert.Equal([-1, manifest.Input!.Features.Count], input.Dimensions);
        Assert.Contains(manifest.Output!.Name, session.OutputMetadata.Keys);
        Assert.Equal([-1, 1], session.OutputMetadata[manifest.Output!.Name].Dimensions);
    }

    /// <summary>Every chamber of the server's default simulator has its FDC model, over that chamber's own sensors.</summary>
    [Fact]
    public void EveryDefaultSimulatorChamber_HasItsOwnFdcModel_OverItsOwnSensors_ThatAnswersAsItsManifestSays()
    {
        var chambers = new ChamberSimulator(new ChamberSimulatorOptions { Tools = TrainingOptions.DefaultChamberTools }).Chambers;

        Assert.Equal(6, chambers.Count);
        foreach (var (tool, chamber, kind) in chambers)
        {
            var name = $"fdc-{tool}-{chamber}";
            var manifest = ModelManifest.Load(Path.Combine(ModelsRoot, name, ModelManifest.FileName));
            Assert.Empty(manifest.Validate());
            Assert.Equal(name, manifest.Name);
            Assert.Equal(kind.Sensors, manifest.Input!.Features);
            Assert.Contains($"chamber {chamber} of {tool}", manifest.Description, StringComparison.Ordinal);
            Assert.True(manifest.Metrics["auc"] > 0.9, $"{name} AUC {manifest.Metrics["auc"]}");
            using var session = new InferenceSession(Path.Combine(ModelsRoot, name, "1", "model.onnx"));
            Assert.Equal([-1, kind.Sensors.Count], session.InputMetadata[manifest.Input.Name].Dimensions);

            // And its trace model, over the step statistics of its wafers' runs.
            var trace = ModelManifest.Load(Path.Combine(ModelsRoot, $"fdc-trace-{tool}-{chamber}", ModelManifest.FileName));
            Assert.Empty(trace.Validate());
            Assert.Equal(SensorDataset.TraceFeatures(kind), trace.Input!.Features);
            Assert.All(trace.Input.Features, f => Assert.True(StepStatistics.TryParse(f, out _, out _, out _), f));
            Assert.True(trace.Metrics["auc"] > 0.9, $"fdc-trace-{tool}-{chamber} AUC {trace.Metrics["auc"]}");
        }
    }

    [Fact]
    public void BundledModels_FallBackToAModelThatExists_AndTheTreesBeatTheLinearModel()
    {
        var trees = ModelManifest.Load(Path.Combine(ModelsRoot, SensorTrainers.TreesName, ModelManifest.FileName));
        var lite = ModelManifest.Load(Path.Combine(ModelsRoot, SensorTrainers.LinearName, ModelManifest.FileName));

        Assert.Equal(SensorTrainers.LinearName, trees.Fallback);
        Assert.Null(lite.Fallback);
        Assert.True(trees.Metrics["auc"] > 0.95, $"sensor-anomaly AUC {trees.Metrics["auc"]}");
        Assert.True(trees.Metrics["auc"] > lite.Metrics["auc"]);
    }
}
