using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Publishing;

namespace RealTimeInference.Training.Wafers;

/// <summary>The <c>wafer-defect</c> model.json: image preprocessing, class names, held-out metrics and confusion matrix.</summary>
internal static class WaferPublisher
{
    public static ModelManifest CreateManifest(TrainedWaferModel model, WaferDataset data, int seed) => new(
        WaferTrainer.Name,
        "Wafer-map defect classifier for the nine WM-811K pattern classes: class probabilities from the preprocessed image " +
        "(decoded, grey, its off-wafer, pass and fail greys and its wafer ellipse read from the image itself, then fail densities per wafer area: " +
        "8 rings x 16 sectors turned so the strongest sector comes first, a radial profile, edge-arc, clustering, line and hot-spot features). " +
        "A wafer is defective when 1 - P(none) reaches the threshold, chosen to maximise detection rate minus false-alarm rate " +
        "on a separate validation set. Metrics: ONNX Runtime scores of held-out wafers; the confusion matrix is [true class][predicted class] in classes order.",
        new ModelInput(model.InputName, []),
        new ModelOutput(model.OutputName, "class_probabilities"),
        model.Threshold,
        // A batch of 64 images is one ONNX run of well under a millisecond; a deep queue absorbs bursts from many stations.
        new BatchingSettings(MaxBatchSize: 64, MaxQueueDelayMs: 0, QueueCapacity: 4096),
        new ThreadSettings(IntraOp: 1, InterOp: 1),
        null,
        new Provenance(WaferTrainer.Trainer, seed, data.Train.Count, data.Test.Count, data.Generator, ModelPublisher.Framework, ModelPublisher.ExportedBy),
        model.Test.ToManifest(),
        data.Preprocessing,
        WaferPatterns.Names,
        model.Test.ConfusionMatrix);

    public static string Publish(string root, TrainedWaferModel model, WaferDataset data, int seed) =>
        ModelPublisher.Write(root, model.Onnx, CreateManifest(model, data, seed));
}
