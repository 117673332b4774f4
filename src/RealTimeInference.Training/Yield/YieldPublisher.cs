using RealTimeInference.Fab.Process;
using RealTimeInference.Inference.Models;
using RealTimeInference.Training.Publishing;

namespace RealTimeInference.Training.Yield;

/// <summary>The <c>yield-forecast</c> model.json: the process-state features, a regression output and held-out R², MAE and RMSE.</summary>
internal static class YieldPublisher
{
    /// <summary>The output kind of a model whose score is a value, not a probability: it has no threshold.</summary>
    public const string RegressionKind = "regression";

    public static ModelManifest CreateManifest(TrainedYieldModel model, YieldDataset data, int seed) => new(
        YieldTrainer.Name,
        "Lot yield forecast for the continuous process: boosted regression trees over the recipe setpoints, the chamber age " +
        "(wafers since maintenance) and the last lot's sensor statistics (each sensor's mean offset from its setpoint and its " +
        "standard deviation) -> expected measured yield in [0, 1]. Regression: no threshold (0). " +
        "Metrics: ONNX Runtime predictions of held-out lots from a separate simulation (r2, mae, rmse in yield fractions).",
        new ModelInput(model.InputName, YieldFeatures.Names),
        new ModelOutput(model.OutputName, RegressionKind),
        0,
        // The optimizer sends a tool's candidates as one request; batches of a few hundred rows stay one short run.
        new BatchingSettings(MaxBatchSize: 512, MaxQueueDelayMs: 0, QueueCapacity: 8192, Admission: "shed-oldest"),
        new ThreadSettings(IntraOp: 1, InterOp: 1),
        null,
        new Provenance(YieldTrainer.Trainer, seed, data.Train.Count, data.Test.Count, data.Generator, ModelPublisher.Framework, ModelPublisher.ExportedBy),
        model.Test.ToManifest());

    public static string Publish(string root, TrainedYieldModel model, YieldDataset data, int seed) =>
        ModelPublisher.Write(root, model.Onnx, CreateManifest(model, data, seed));
}
