using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Yield;

/// <summary>What became of a set of process states: the outcome, the model that answered and one predicted yield per state.</summary>
internal sealed record YieldScore(ScoreResult Result, ServedModel? Model, float[] Predictions)
{
    public bool IsOk => Result.IsOk;
}

/// <summary>
/// Forecasts lot yield for every caller (<c>/predict-yield</c>, the optimizer): process states -> the
/// yield model's feature rows (<see cref="YieldFeatures"/>) -> its guard and micro-batcher, so a tool's
/// candidates are one request and share a run with everyone else's. No safe default: a made-up yield
/// would steer the process. Knows nothing of any transport.
/// </summary>
internal sealed class YieldScoring(ModelRepository repository, ModelGuard guard, IOptions<YieldOptions> options)
{
    public string ModelName { get; } = options.Value.Model;

    public ValueTask<YieldScore> ScoreAsync(IReadOnlyList<ProcessState> states, Deadline deadline, CancellationToken cancellationToken)
    {
        var features = new float[states.Count * YieldFeatures.Count];
        for (var i = 0; i < states.Count; i++)
        {
            YieldFeatures.Write(states[i], features.AsSpan(i * YieldFeatures.Count, YieldFeatures.Count));
        }

        return ScoreRowsAsync(features, states.Count, deadline, cancellationToken);
    }

    /// <summary>Feature rows already in the model's order (<see cref="YieldFeatures.Names"/>), as an Open Inference tensor carries them.</summary>
    /// <param name="features">Row-major, <see cref="YieldFeatures.Count"/> floats a row.</param>
    /// <param name="rows">How many rows.</param>
    /// <param name="deadline">When the answer stops being useful.</param>
    /// <param name="cancellationToken">The caller went away.</param>
    public async ValueTask<YieldScore> ScoreRowsAsync(float[] features, int rows, Deadline deadline, CancellationToken cancellationToken)
    {
        if (repository.IsDraining || !repository.TryGet(ModelName, out var model))
        {
            return new YieldScore(new ScoreResult(Outcome.Unavailable), null, []);
        }

        var predictions = new float[rows];
        var answer = await guard.ScoreAsync(model, features, predictions, deadline, cancellationToken, safeDefault: false).ConfigureAwait(false);
        return new YieldScore(answer.Result, answer.Model ?? model, predictions);
    }
}

/// <summary>The yield model must read the process state as the server writes it (<see cref="YieldFeatures.Names"/>, in order), or it is not served.</summary>
internal sealed class YieldSchemaCheck(IOptions<YieldOptions> options) : IModelCheck
{
    public string? Check(ModelManifest manifest) =>
        manifest.Name == options.Value.Model && manifest.Input?.Features.SequenceEqual(YieldFeatures.Names, StringComparer.Ordinal) != true
            ? $"input.features [{string.Join(", ", manifest.Input?.Features ?? [])}] must be the server's process-state fields [{string.Join(", ", YieldFeatures.Names)}], in that order."
            : null;
}
