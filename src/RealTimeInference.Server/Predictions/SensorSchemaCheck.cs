using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Models;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// The sensor model must read the fields the server parses, in the order it writes them
/// (<see cref="SensorFeatures.Names"/>): a model.json that lists other features, or the same ones
/// in another order, would be fed the wrong values, so the model is not served.
/// </summary>
internal sealed class SensorSchemaCheck(IOptions<PredictionOptions> options) : IModelCheck
{
    public string? Check(ModelManifest manifest) =>
        manifest.Name == options.Value.SensorModel && manifest.Input?.Features.SequenceEqual(SensorFeatures.Names, StringComparer.Ordinal) != true
            ? $"input.features [{string.Join(", ", manifest.Input?.Features ?? [])}] must be the server's sensor fields [{string.Join(", ", SensorFeatures.Names)}], in that order."
            : null;
}
