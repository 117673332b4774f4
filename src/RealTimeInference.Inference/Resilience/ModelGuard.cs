using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
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
/// Runs each model behind a Polly circuit breaker: failed or too slow runs open it; while it is
/// open the model's fallback answers, and failing that a documented safe default. Overload
/// (rejected, shed, expired work) is not a fault and never opens a breaker.
/// </summary>
public sealed partial class ModelGuard
{
    private readonly ModelRepository _repository;
    private readonly ResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger<ModelGuard> _logger;
    private readonly ConcurrentDictionary<string, Breaker> _breakers = new(StringComparer.Ordinal);

    public ModelGuard(
        ModelRepository repository,
        IOptions<ResilienceOptions> options,
        TimeProvider time,
        InferenceMetrics metrics,
        ILogger<ModelGuard> logger)
    {
        _repository = repository;
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        metrics.TrackBreakers(() => Breakers);
    }

    /// <summary>Each model's breaker that has run at least once.</summary>
    public IEnumerable<(string Model, CircuitState State)> Breakers =>
        _breakers.Select(b => (b.Key, b.Value.State.CircuitState));

    public CircuitState StateOf(string model) =>
        _breakers.TryGetValue(model, out var breaker) ? breaker.State.CircuitState : CircuitState.Closed;

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
        var (result, broken) = await RunAsync(model, features, scores, deadline, cancellationToken).ConfigureAwait(false);
        if (!broken && result.Status == ScoreStatus.Stopped && !_repository.IsDraining
            && _repository.TryGet(model.Name, out var swapped) && swapped != model
            && swapped.FeatureCount == model.FeatureCount && swapped.OutputCount == model.OutputCount)
        {
            // A reload swapped the model between lookup and enqueue: the new version takes the request.
            model = swapped;
            (result, broken) = await RunAsync(model, features, scores, deadline, cancellationToken).ConfigureAwait(false);
        }

        if (!broken && result.Status != ScoreStatus.Failed)
        {
            return new GuardedScore(result, model, Answerer.Model);
        }

        if (model.Manifest.Fallback is { } name && _repository.TryGet(name, out var fallback)
            && fallback.FeatureCount == model.FeatureCount && fallback.OutputCount == model.OutputCount)
        {
            var (second, fallbackBroken) = await RunAsync(fallback, features, scores, deadline, cancellationToken).ConfigureAwait(false);
            if (!fallbackBroken && second.Status != ScoreStatus.Failed)
            {
                _metrics.RecordFallback(model.Name, Answerer.Fallback);
                return new GuardedScore(second, fallback, Answerer.Fallback);
            }
        }

        // A safe default is one score; a multi-class model's answer cannot be made up that way.
        if (safeDefault && _options.SafeDefaultScore is { } safe && model.OutputCount == 1)
        {
            scores.Span.Fill(safe);
            _metrics.RecordFallback(model.Name, Answerer.SafeDefault);
            return new GuardedScore(new ScoreResult(ScoreStatus.Ok), null, Answerer.SafeDefault);
        }

        return new GuardedScore(
            broken ? new ScoreResult(ScoreStatus.Failed, Error: $"Model '{model.Name}' is failing: its circuit breaker is open.") : result,
            model,
            Answerer.Model);
    }

    private async ValueTask<(ScoreResult Result, bool Broken)> RunAsync(
        ServedModel model, Memory<float> features, Memory<float> scores, Deadline deadline, CancellationToken cancellationToken)
    {
        var breaker = _breakers.GetOrAdd(model.Name, Create);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await breaker.Pipeline.ExecuteOutcomeAsync(
                static async (context, run) => Outcome.FromResult(
                    await run.Model.Batcher.ScoreAsync(run.Features, run.Scores, run.Deadline, context.CancellationToken).ConfigureAwait(false)),
                context,
                (Model: model, Features: features, Scores: scores, Deadline: deadline)).ConfigureAwait(false);
            if (outcome.Exception is BrokenCircuitException)
            {
                return (default, true);
            }

            outcome.ThrowIfException();
            return (outcome.Result, false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Breaker Create(string model)
    {
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder<ScoreResult> { TimeProvider = _time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ScoreResult>
            {
                FailureRatio = _options.FailureRatio,
                MinimumThroughput = _options.MinimumThroughput,
                SamplingDuration = _options.SamplingDuration,
                BreakDuration = _options.BreakDuration,
                StateProvider = state,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is not null
                    || args.Outcome.Result.Status == ScoreStatus.Failed
                    || (args.Outcome.Result.IsOk && args.Outcome.Result.ComputeTime > _options.SlowRun)),
                OnOpened = args =>
                {
                    LogOpened(_logger, model, args.BreakDuration, args.Outcome.Result.Error ?? $"runs slower than {_options.SlowRun.TotalMilliseconds} ms");
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    LogHalfOpened(_logger, model);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogClosed(_logger, model);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        return new Breaker(pipeline, state);
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Error, Message = "Circuit breaker of model {Model} opened for {BreakDuration}: {Cause}; its fallback answers meanwhile")]
    private static partial void LogOpened(ILogger logger, string model, TimeSpan breakDuration, string cause);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Circuit breaker of model {Model} half-open: the next run is a trial")]
    private static partial void LogHalfOpened(ILogger logger, string model);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Circuit breaker of model {Model} closed: the model answers again")]
    private static partial void LogClosed(ILogger logger, string model);

    private sealed record Breaker(ResiliencePipeline<ScoreResult> Pipeline, CircuitBreakerStateProvider State);
}
