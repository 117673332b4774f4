using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// Scores feature rows with the sensor model through its guard and micro-batcher, the same queue
/// (and so the same admission, deadlines and fallback) as the HTTP endpoints; for the simulator
/// and the WebSocket. Work is due within the /predict class (Prediction:PredictClass) of its arrival.
/// </summary>
internal sealed class SensorScorer(ModelRepository repository, ModelGuard guard, IOptions<PredictionOptions> options, TimeProvider time)
{
    private readonly string _modelName = options.Value.SensorModel;
    /// <summary>The class stream readings are scored in: the /predict default.</summary>
    public LatencyClass LatencyClass { get; } =
        LatencyClasses.TryParse(options.Value.PredictClass, out var latencyClass) ? latencyClass : LatencyClass.ProcessControl;

    /// <summary>The model that answered (the sensor model or its fallback) and what became of the rows.</summary>
    public async ValueTask<(ServedModel? Model, ScoreResult Result)> ScoreAsync(
        Memory<float> features, Memory<float> scores, long arrived, CancellationToken cancellationToken)
    {
        if (repository.IsDraining || !repository.TryGet(_modelName, out var model))
        {
            return (null, new ScoreResult(ScoreStatus.Stopped));
        }

        if (model.FeatureCount != SensorFeatures.Count)
        {
            return (model, new ScoreResult(ScoreStatus.Failed, Error: $"Model '{model.Name}' takes {model.FeatureCount} features."));
        }

        // Streams carry no fallback marker, so they get no made-up safe default either.
        var answer = await guard.ScoreAsync(
            model, features, scores, Deadline.For(LatencyClass, arrived, time), cancellationToken, safeDefault: false).ConfigureAwait(false);
        return (answer.Model, answer.Result);
    }
}
