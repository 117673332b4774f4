using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Server.Predictions;

/// <summary>What became of a batch of readings, and who answered.</summary>
/// <param name="Result">The outcome, and the queue and model time when scored.</param>
/// <param name="Model">The model that answered (the sensor model or its fallback); null for a safe default, the baseline, or none.</param>
/// <param name="Answerer">The sensor model, its fallback, or the safe default.</param>
/// <param name="Threshold">Scores at or above it are anomalies: the answering model's, the requested model's for a safe default.</param>
/// <param name="CacheHit">The score came from the prediction cache.</param>
internal readonly record struct SensorScore(ScoreResult Result, ServedModel? Model, Answerer Answerer, double Threshold, bool CacheHit = false)
{
    /// <summary>The model name a safe-default answer carries.</summary>
    public const string SafeDefaultModel = "safe-default";

    /// <summary>The model name the no-model baseline answers with.</summary>
    public const string BaselineModel = "baseline";

    public Outcome Outcome => Result.Outcome;

    public bool IsOk => Result.IsOk;

    public string ModelName => Model?.Name ?? (Answerer == Answerer.SafeDefault ? SafeDefaultModel : BaselineModel);

    public int ModelVersion => Model?.Version ?? 0;

    /// <summary>The configured model did not answer: its fallback or the safe default did.</summary>
    public bool Fallback => Answerer != Answerer.Model;

    public bool IsAnomaly(float score) => score >= Threshold;
}

/// <summary>
/// Scores sensor readings for every way they arrive (HTTP, WebSocket, the simulator; later the
/// brokers): the sensor model (Prediction:SensorModel) through its guard (fallback, safe default)
/// and micro-batcher, single readings through the prediction cache, and every answered prediction
/// handed to the sinks (<see cref="IPredictionSink"/>). Knows nothing of any transport.
/// </summary>
internal sealed class SensorScoring(
    ModelRepository repository,
    ModelGuard guard,
    PredictionCache cache,
    IEnumerable<IPredictionSink> sinks,
    TimeProvider time,
    IOptions<PredictionOptions> options)
{
    private readonly IPredictionSink[] _sinks = [.. sinks];

    public string ModelName { get; } = options.Value.SensorModel;

    /// <summary>
    /// Scores every reading of <paramref name="batch"/> by <paramref name="deadline"/>, writing
    /// <see cref="SensorBatch.Scores"/>. <paramref name="safeDefault"/>: whether a made-up safe
    /// score may answer when no model can (only where the answer can say so).
    /// </summary>
    public ValueTask<SensorScore> ScoreAsync(
        SensorBatch batch, Deadline deadline, PredictionOrigin origin, bool safeDefault, CancellationToken cancellationToken) =>
        ScoreAsync(ModelName, batch, deadline, origin, safeDefault, cancellationToken);

    /// <summary>
    /// As the configured model's scoring, with another model that takes the same rows
    /// (<see cref="TakesSensorRows"/>): the Open Inference Protocol names the model per request.
    /// </summary>
    /// <param name="modelName">The served model to score with.</param>
    /// <param name="batch">The readings; their scores are written into it.</param>
    /// <param name="deadline">When the answer stops being useful.</param>
    /// <param name="origin">Where the readings came from, for the sinks.</param>
    /// <param name="safeDefault">Whether a made-up safe score may answer when no model can.</param>
    /// <param name="cancellationToken">The caller went away.</param>
    public async ValueTask<SensorScore> ScoreAsync(
        string modelName, SensorBatch batch, Deadline deadline, PredictionOrigin origin, bool safeDefault, CancellationToken cancellationToken)
    {
        if (repository.IsDraining || !repository.TryGet(modelName, out var model))
        {
            return new SensorScore(new ScoreResult(Outcome.Unavailable), null, Answerer.Model, double.PositiveInfinity);
        }

        // Only single readings are cached: a batch is one model run either way.
        var cacheable = cache.Enabled && batch.Count == 1;
        if (cacheable && cache.TryGet(model.Name, model.Version, batch.Features.Span, out var cached))
        {
            batch.Scores.Span[0] = cached;
            Publish(origin, deadline.Class, model, batch);
            return new SensorScore(new ScoreResult(Outcome.Ok), model, Answerer.Model, model.Manifest.Threshold, CacheHit: true);
        }

        var answer = await guard.ScoreAsync(model, batch.Features, batch.Scores, deadline, cancellationToken, safeDefault).ConfigureAwait(false);
        if (answer is { Result.IsOk: true, Model: { } answered })
        {
            if (cacheable && answer.Answerer == Answerer.Model)
            {
                cache.Add(answered.Name, answered.Version, batch.Features.Span, batch.Scores.Span[0]);
            }

            Publish(origin, deadline.Class, answered, batch);
        }

        return new SensorScore(answer.Result, answer.Model, answer.Answerer, answer.Model?.Manifest.Threshold ?? model.Manifest.Threshold);
    }

    /// <summary>Whether <paramref name="model"/> reads the sensor fields, in the server's order, and answers one score a reading.</summary>
    public static bool TakesSensorRows(ServedModel model) =>
        model.OutputCount == 1 && model.Manifest.Preprocessing is null
        && model.Manifest.Input?.Features.SequenceEqual(SensorFeatures.Names, StringComparer.Ordinal) == true;

    /// <summary>The same answer shape with no model (zeros, never an anomaly, nothing recorded): the benchmarks' yardstick.</summary>
    public static SensorScore Baseline(SensorBatch batch)
    {
        batch.Scores.Span.Clear();
        return new SensorScore(new ScoreResult(Outcome.Ok), null, Answerer.Model, double.PositiveInfinity);
    }

    private void Publish(PredictionOrigin origin, LatencyClass latencyClass, ServedModel model, SensorBatch batch)
    {
        var scored = new ScoredBatch(origin, latencyClass, model, batch, time.GetElapsedTime(origin.Started));
        foreach (var sink in _sinks)
        {
            sink.Publish(scored);
        }
    }
}
