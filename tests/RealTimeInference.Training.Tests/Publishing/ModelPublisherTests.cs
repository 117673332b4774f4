using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Publishing;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Tests.Publishing;

public sealed class ModelPublisherTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"models-{Guid.NewGuid():N}");

    [Fact]
    public void TrainAndPublish_WritesVersionedOnnxAndAManifestThatLoads()
    {
        var data = SensorDataset.Create(seed: 3, trainRows: 4_000, validationRows: 1_000, testRows: 1_000);

        foreach (var spec in SensorTrainers.All)
        {
            var model = ModelTrainer.Train(spec, data, seed: 3);
            var folder = ModelPublisher.Publish(_root, model, data, seed: 3);

            var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
            Assert.Equal(spec.Name, manifest.Name);
            Assert.Equal(spec.Fallback, manifest.Fallback);
            Assert.Equal((3, 4_000, 1_000), (manifest.Provenance!.Seed, manifest.Provenance!.TrainRows, manifest.Provenance!.TestRows));
            Assert.Equal(model.Threshold, manifest.Threshold);
            Assert.Equal(Math.Round(model.Test.Auc, 6), manifest.Metrics["auc"]);
            Assert.True(model.ParityMaxAbsDiff <= 1e-5, $"{spec.Name}: parity {model.ParityMaxAbsDiff}");

            using var session = new InferenceSession(Path.Combine(folder, "1", ModelPublisher.OnnxFileName));
            Assert.Equal(manifest.Input!.Name, Assert.Single(session.InputMetadata.Keys));
            Assert.Equal(manifest.Output!.Name, Assert.Single(session.OutputMetadata.Keys));
        }
    }

    [Fact]
    public void AChambersModel_IsTrainedOnItsOwnReadings_OverItsSensors_AndScoresThemAsMlNetDoes()
    {
        var data = SensorDataset.ForChamber(seed: 3, tools: 1, chamber: 2, trainRows: 4_000, heldOutRows: 1_000);
        var model = ModelTrainer.Train(SensorTrainers.ForChamber("etch-01", "C", ChamberKind.Strip), data, seed: 3);
        var folder = ModelPublisher.Publish(_root, model, data, seed: 3);

        var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        Assert.Equal("fdc-etch-01-C", manifest.Name);
        Assert.Equal(ChamberKind.Strip.Sensors, manifest.Input!.Features);
        Assert.Null(manifest.Fallback);
        Assert.Contains("etch-01 chamber C (strip", manifest.Provenance!.Generator, StringComparison.Ordinal);
        Assert.True(model.ParityMaxAbsDiff <= 1e-5, $"parity {model.ParityMaxAbsDiff}");
        Assert.True(model.Test.Auc > 0.8, $"AUC {model.Test.Auc}");
        using var session = new InferenceSession(Path.Combine(folder, "1", ModelPublisher.OnnxFileName));
        Assert.Equal([-1, 12], session.InputMetadata[manifest.Input.Name].Dimensions);
    }

    [Fact]
    public void AChambersTraceModel_LearnsItsWafersStepStatistics_AsPostTracesComputesThem()
    {
        var data = SensorDataset.ForChamberTraces(seed: 3, tools: 1, chamber: 0, trainWafers: 300, heldOutWafers: 100);
        var model = ModelTrainer.Train(SensorTrainers.ForChamberTraces("etch-01", "A", ChamberKind.Etch), data, seed: 3);
        var folder = ModelPublisher.Publish(_root, model, data, seed: 3);

        var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
        Assert.Equal("fdc-trace-etch-01-A", manifest.Name);
        Assert.Equal(ChamberKind.Etch.Steps.Count * ChamberKind.Etch.Sensors.Count * 3, manifest.Input!.Features.Count);
        Assert.Contains("main-etch:he_flow:slope", manifest.Input.Features);
        Assert.Equal((300, 100), (data.Train.Count, data.Test.Count));
        Assert.True(model.ParityMaxAbsDiff <= 1e-5, $"parity {model.ParityMaxAbsDiff}");
        Assert.True(model.Test.Auc > 0.8, $"AUC {model.Test.Auc}");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
