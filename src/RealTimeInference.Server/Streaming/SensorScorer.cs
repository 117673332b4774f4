using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// Scores feature rows with the sensor model through its micro-batcher, the same queue (and so the
/// same admission) as the HTTP endpoints; for the simulator and the WebSocket.
/// </summary>
internal sealed class SensorScorer(ModelRepository repository, IOptions<PredictionOptions> options)
{
    private readonly string _modelName = options.Value.SensorModel;

    public async ValueTask<(ServedModel? Model, ScoreResult Result)> ScoreAsync(
        Memory<float> features, Memory<float> scores, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (repository.IsDraining || !repository.TryGet(_modelName, out var model))
            {
                return (null, new ScoreResult(ScoreStatus.Stopped));
            }

            if (model.FeatureCount != SensorFeatures.Count)
            {
                return (model, new ScoreResult(ScoreStatus.Failed, Error: $"Model '{model.Name}' takes {model.FeatureCount} features."));
            }

            var result = await model.Batcher.ScoreAsync(features, scores, cancellationToken).ConfigureAwait(false);
            // Stopped with the server not draining: a reload swapped versions; the new one takes it.
            if (result.Status != ScoreStatus.Stopped || attempt == 1)
            {
                return (model, result);
            }
        }
    }
}
