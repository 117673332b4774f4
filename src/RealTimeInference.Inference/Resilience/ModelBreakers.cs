using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Resilience;

/// <summary>
/// One Polly circuit breaker per model name, kept across reloads, around each of the model's runs
/// (a batch): a failed run, or one slower than <see cref="ResilienceOptions.SlowRun"/>, counts
/// against it; while it is open runs are refused without touching the model.
/// </summary>
public sealed partial class ModelBreakers
{
    private readonly ResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelBreakers> _logger;
    private readonly ConcurrentDictionary<string, Breaker> _breakers = new(StringComparer.Ordinal);

    public ModelBreakers(IOptions<ResilienceOptions> options, TimeProvider time, InferenceMetrics metrics, ILogger<ModelBreakers> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        metrics.TrackBreakers(() => _breakers.Select(b => (b.Key, b.Value.State.CircuitState)));
    }

    /// <summary>The pipeline a model's runs go through; the result is the run's duration.</summary>
    public ResiliencePipeline<TimeSpan> For(string model) => _breakers.GetOrAdd(model, Create).Pipeline;

    public CircuitState StateOf(string model) =>
        _breakers.TryGetValue(model, out var breaker) ? breaker.State.CircuitState : CircuitState.Closed;

    private Breaker Create(string model)
    {
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder<TimeSpan> { TimeProvider = _time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<TimeSpan>
            {
                FailureRatio = _options.FailureRatio,
                MinimumThroughput = _options.MinimumThroughput,
                SamplingDuration = _options.SamplingDuration,
                BreakDuration = _options.BreakDuration,
                StateProvider = state,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null || args.Outcome.Result > _options.SlowRun),
                OnOpened = args =>
                {
                    LogOpened(_logger, model, args.BreakDuration, args.Outcome.Exception?.Message ?? $"runs slower than {_options.SlowRun.TotalMilliseconds} ms");
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

    [LoggerMessage(EventId = LogEvents.BreakerOpened, Level = LogLevel.Error, Message = "Circuit breaker of model {Model} opened for {BreakDuration}: {Cause}; its fallback answers meanwhile")]
    private static partial void LogOpened(ILogger logger, string model, TimeSpan breakDuration, string cause);

    [LoggerMessage(EventId = LogEvents.BreakerHalfOpened, Level = LogLevel.Information, Message = "Circuit breaker of model {Model} half-open: the next run is a trial")]
    private static partial void LogHalfOpened(ILogger logger, string model);

    [LoggerMessage(EventId = LogEvents.BreakerClosed, Level = LogLevel.Information, Message = "Circuit breaker of model {Model} closed: the model answers again")]
    private static partial void LogClosed(ILogger logger, string model);

    private sealed record Breaker(ResiliencePipeline<TimeSpan> Pipeline, CircuitBreakerStateProvider State);
}
