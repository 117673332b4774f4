using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Resilience;

/// <summary>Who answered a guarded request.</summary>
public enum Answerer
{
    /// <summary>The model asked for (or, if it failed, nobody: see the result's status).</summary>
    Model,
    /// <summary>The model's fallback (model.json <c>fallback</c>), because the model failed or its breaker is open.</summary>
    Fallback,
    /// <summary>Neither could answer: <see cref="ResilienceOptions.SafeDefaultScore"/>.</summary>
    SafeDefault,
}

/// <param name="Result">What became of the request.</param>
/// <param name="Model">The model that answered; null for a safe default.</param>
/// <param name="Answerer">Whether that was the model asked for, its fallback, or the safe default.</param>
public readonly record struct GuardedScore(ScoreResult Result, ServedModel? Model, Answerer Answerer);

/// <summary>
/// Answers a request with its model, or — when the model's run failed, including a run its open
/// circuit breaker (<see cref="ModelBreakers"/>) refused — with the model's fallback, and failing
/// that a documented safe default. Overload (rejected, shed, expired work) is not a fault and is
/// answered as it is.
/// </summary>
public sealed class ModelGuard(ModelRepository repository, IOptions<ResilienceOptions> options, InferenceMetrics metrics)
{
    private readonly ResilienceOptions _options = options.Value;

    /// <summary>
    /// Scores with <paramref name="model"/>, its fallback, or (unless <paramref name="safeDefault"/>
    /// is false) the safe default, in that order.
    /// </summary>
    public async ValueTask<GuardedScore> ScoreAsync(
        ServedModel model,
        Memory<float> features,
        Memory<float> scores,
        Deadline deadline,
        CancellationToken cancellationToken,
        bool safeDefault = true)
    {
        var result = await model.Batcher.ScoreAsync(features, scores, deadline, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == Outcome.Unavailable && !repository.IsDraining
            && repository.TryGet(model.Name, out var swapped) && swapped != model && swapped.TakesTheSameRowsAs(model))
        {
            // A reload swapped the model between lookup and enqueue: the new version takes the request.
            model = swapped;
            result = await model.Batcher.ScoreAsync(features, scores, deadline, cancellationToken).ConfigureAwait(false);
        }

        if (result.Outcome != Outcome.Failed)
        {
            return new GuardedScore(result, model, Answerer.Model);
        }

        if (model.Manifest.Fallback is { } name && repository.TryGet(name, out var fallback) && fallback.TakesTheSameRowsAs(model))
        {
            var second = await fallback.Batcher.ScoreAsync(features, scores, deadline, cancellationToken).ConfigureAwait(false);
            if (second.Outcome != Outcome.Failed)
            {
                metrics.RecordFallback(model.Name, Answerer.Fallback);
                return new GuardedScore(second, fallback, Answerer.Fallback);
            }
        }

        // A safe default is one score; a multi-class model's answer cannot be made up that way.
        if (safeDefault && _options.SafeDefaultScore is { } safe && model.OutputCount == 1)
        {
            scores.Span.Fill(safe);
            metrics.RecordFallback(model.Name, Answerer.SafeDefault);
            return new GuardedScore(new ScoreResult(Outcome.Ok), null, Answerer.SafeDefault);
        }

        return new GuardedScore(result, model, Answerer.Model);
    }
}
