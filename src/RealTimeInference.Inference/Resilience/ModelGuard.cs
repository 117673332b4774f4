using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Inference.Tensors;

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
        var answer = await AnswerAsync(
            model, m => m.Batcher.ScoreAsync(features, scores, deadline, cancellationToken), static (a, b) => a.TakesTheSameRowsAs(b)).ConfigureAwait(false);
        if (answer.Result.Outcome != Outcome.Failed)
        {
            return answer;
        }

        // A safe default is one score; a multi-class model's answer cannot be made up that way.
        if (safeDefault && _options.SafeDefaultScore is { } safe && model.OutputCount == 1)
        {
            scores.Span.Fill(safe);
            metrics.RecordFallback(model.Name, Answerer.SafeDefault);
            return new GuardedScore(new ScoreResult(Outcome.Ok), null, Answerer.SafeDefault);
        }

        return answer;
    }

    /// <summary>
    /// Runs named tensors with <paramref name="model"/> or, when its run failed, its fallback (when
    /// that takes the same tensors). No safe default: a made-up tensor would look like the model's.
    /// </summary>
    public ValueTask<GuardedScore> RunAsync(
        ServedModel model, IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputs, Deadline deadline, CancellationToken cancellationToken) =>
        AnswerAsync(model, m => m.Batcher.RunAsync(inputs, outputs, deadline, cancellationToken), static (a, b) => a.TakesTheSameTensorsAs(b));

    /// <summary>The model's answer — from the version a reload swapped in, if it came between lookup and enqueue — or, when it failed, its fallback's.</summary>
    private async ValueTask<GuardedScore> AnswerAsync(
        ServedModel model, Func<ServedModel, ValueTask<ScoreResult>> run, Func<ServedModel, ServedModel, bool> takesTheSame)
    {
        var result = await run(model).ConfigureAwait(false);
        if (result.Outcome == Outcome.Unavailable && !repository.IsDraining
            && repository.TryGet(model.Name, out var swapped) && swapped != model && takesTheSame(swapped, model))
        {
            model = swapped;
            result = await run(model).ConfigureAwait(false);
        }

        if (result.Outcome == Outcome.Failed
            && model.Manifest.Fallback is { } name && repository.TryGet(name, out var fallback) && takesTheSame(fallback, model))
        {
            var second = await run(fallback).ConfigureAwait(false);
            if (second.Outcome != Outcome.Failed)
            {
                metrics.RecordFallback(model.Name, Answerer.Fallback);
                return new GuardedScore(second, fallback, Answerer.Fallback);
            }
        }

        return new GuardedScore(result, model, Answerer.Model);
    }
}
