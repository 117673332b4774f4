using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// The sensor model (Prediction:SensorModel) for every way readings arrive: finds it, and scores
/// feature rows through its guard and micro-batcher, the same queue (and so the same admission,
/// deadlines and fallback) for HTTP, the WebSocket and the simulator. Stream readings are due
/// within the /predict class (Prediction:PredictClass) of their arrival.
/// </summary>
internal sealed class SensorScorer(ModelRepository repository, ModelGuard guard, IOptions<PredictionOptions> options, TimeProvider time)
{
    private readonly string _modelName = options.Value.SensorModel;
    /// <summary>The class stream readings are scored in: the /predict default.</summary>
    public LatencyClass LatencyClass { get; } =
        LatencyClasses.TryParse(options.Value.PredictClass, out var latencyClass) ? latencyClass : LatencyClass.ProcessControl;

    /// <summary>The serving sensor model, or why there is none to score with (stopped, or the wrong shape).</summary>
    public ScoreResult? Resolve(out ServedModel? model)
    {
        if (repository.IsDraining || !repository.TryGet(_modelName, out model))
        {
            model = null;
            return new ScoreResult(ScoreStatus.Stopped);
        }

        return model.FeatureCount == SensorFeatures.Count
            ? null
            : new ScoreResult(
                ScoreStatus.Failed,
                Error: $"Model '{model.Name}' takes {model.FeatureCount} features; a sensor reading gives {SensorFeatures.Count}.");
    }

    /// <summary>The model that answered (the sensor model or its fallback) and what became of the rows.</summary>
    public async ValueTask<(ServedModel? Model, ScoreResult Result)> ScoreAsync(
        Memory<float> features, Memory<float> scores, long arrived, CancellationToken cancellationToken)
    {
        if (Resolve(out var model) is { } unusable)
        {
            return (model, unusable);
        }

        // Streams carry no fallback marker, so they get no made-up safe default either.
        var answer = await guard.ScoreAsync(
            model!, features, scores, Deadline.For(LatencyClass, arrived, time), cancellationToken, safeDefault: false).ConfigureAwait(false);
        return (answer.Model, answer.Result);
    }
}
