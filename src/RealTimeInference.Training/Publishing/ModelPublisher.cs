using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Trainers;

namespace RealTimeInference.Training.Publishing;

/// <summary>Writes <c>&lt;root&gt;/&lt;name&gt;/&lt;version&gt;/model.onnx</c> and <c>&lt;root&gt;/&lt;name&gt;/model.json</c>.</summary>
internal static class ModelPublisher
{
    public const int Version = 1;
    public const string OnnxFileName = "model.onnx";
    public const string Framework = "ML.NET 5.0.1";
    public const string ExportedBy = "RealTimeInference.Training";

    public static ModelManifest CreateManifest(TrainedModel model, SensorDataset data, int seed) => new(
        model.Spec.Name,
        model.Spec.Description +
            " Threshold: maximizes F1 on a separate validation stream." +
            " Metrics: ONNX Runtime scores of the held-out test stream at that threshold (a score at or above the threshold is anomalous).",
        new ModelInput(model.InputName, data.Features),
        new ModelOutput(model.OutputName, "probability"),
        model.Threshold,
        new BatchingSettings(MaxBatchSize: 256, MaxQueueDelayMs: 0, QueueCapacity: 8192, Admission: "shed-oldest"),
        new ThreadSettings(IntraOp: 1, InterOp: 1),
        model.Spec.Fallback,
        new Provenance(model.Spec.Trainer, seed, data.Train.Count, data.Test.Count, data.Generator, Framework, ExportedBy),
        model.Test.ToManifest());

    /// <summary>Writes the model and returns the folder it went to.</summary>
    public static string Publish(string root, TrainedModel model, SensorDataset data, int seed) =>
        Write(root, model.Onnx, CreateManifest(model, data, seed));

    /// <summary>Writes <c>&lt;root&gt;/&lt;name&gt;/1/model.onnx</c> and its model.json, after checking the manifest.</summary>
    public static string Write(string root, byte[] onnx, ModelManifest manifest)
    {
        var errors = manifest.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"{manifest.Name}: invalid manifest: {string.Join("; ", errors)}");
        }

        var folder = Path.Combine(root, manifest.Name);
        var versionFolder = Path.Combine(folder, Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(versionFolder);
        File.WriteAllBytes(Path.Combine(versionFolder, OnnxFileName), onnx);
        manifest.Save(Path.Combine(folder, ModelManifest.FileName));
        return folder;
    }
}
