using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.Streaming;
using Serilog;

namespace RealTimeInference.Server.Predictions;

/// <summary>
/// The request side of sensor predictions: body -> feature rows -> the model's batcher -> answer.
/// In baseline mode the same path runs with no model, so benchmarks can isolate the model's cost.
/// </summary>
internal sealed class SensorPredictor(
    ModelRepository repository,
    RequestMonitor monitor,
    ServerMetrics metrics,
    IOptions<PredictionOptions> options,
    IDiagnosticContext requestLog,
    PredictionCache cache,
    PredictionHub hub,
    TimeProvider time)
{
    private const string BaselineModel = "baseline";

    private readonly PredictionOptions _options = options.Value;

    public async Task<Results<Ok<PredictionResponse>, ProblemHttpResult>> PredictAsync(HttpContext context, bool baseline)
    {
        var started = time.GetTimestamp();
        // Features and the score share one rented buffer.
        using var buffer = new PooledFloats(SensorFeatures.Count + 1);
        ReadingLabels labels = default;
        var error = await RequestBody.ParseAsync(context, _options.MaxRequestBytes, (in body) =>
            SensorReadingJson.ParseOne(body, buffer.Slice(0, SensorFeatures.Count).Span, out labels));
        if (error is { } bad)
        {
            return Invalid(bad);
        }

        var (model, result) = await ScoreAsync(
            context, baseline, buffer.Slice(0, SensorFeatures.Count), buffer.Slice(SensorFeatures.Count, 1));
        if (Failure(context, "/predict", result, started) is { } problem)
        {
            return problem;
        }

        var score = buffer.Memory.Span[SensorFeatures.Count];
        var latency = Finish("/predict", started, success: true);
        if (model is not null)
        {
            hub.Publish(PredictionSources.Http, model, buffer.Memory.Span[..SensorFeatures.Count], buffer.Memory.Span[SensorFeatures.Count..], labels);
        }

        return TypedResults.Ok(new PredictionResponse(
            score,
            model is not null && score >= model.Manifest.Threshold,
            labels.Timestamp ?? time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            latency.TotalMilliseconds,
            model?.Name ?? BaselineModel,
            model?.Version ?? 0));
    }

    public async Task<Results<Ok<BatchPredictionResponse>, ProblemHttpResult>> PredictBatchAsync(HttpContext context, bool baseline)
    {
        var started = time.GetTimestamp();
        PooledFloats? features = null;
        var count = 0;
        var error = await RequestBody.ParseAsync(context, _options.MaxBatchRequestBytes, (in body) =>
        {
            // No body can hold more readings than it has bytes for, which bounds the rental.
            var capacity = (int)Math.Min(_options.MaxBatchReadings, (body.Length / SensorReadingJson.MinReadingBytes) + 1);
            features = new PooledFloats(capacity * SensorFeatures.Count);
            return SensorReadingJson.ParseMany(body, features.Memory.Span, _options.MaxBatchReadings, out count);
        });
        using var rented = features;
        if (error is { } bad)
        {
            return Invalid(bad);
        }

        // Parsing ran (no error), so the rows were rented.
        var rows = features!;

        // The scores are serialized after this method returns, so the response returns them to the pool.
        var scores = new PooledFloats(count);
        context.Response.RegisterForDispose(scores);
        var (model, result) = await ScoreAsync(context, baseline, rows.Slice(0, count * SensorFeatures.Count), scores.Memory);
        if (Failure(context, "/predict-batch", result, started) is { } problem)
        {
            return problem;
        }

        var anomalies = new List<int>();
        if (model is not null)
        {
            hub.Publish(PredictionSources.Http, model, rows.Memory.Span[..(count * SensorFeatures.Count)], scores.Memory.Span);
            var span = scores.Memory.Span;
            for (var i = 0; i < span.Length; i++)
            {
                if (span[i] >= model.Manifest.Threshold)
                {
                    anomalies.Add(i);
                }
            }
        }

        var latency = Finish("/predict-batch", started, success: true);
        return TypedResults.Ok(new BatchPredictionResponse(
            scores.Memory,
            count,
            latency.TotalMilliseconds / count,
            latency.TotalMilliseconds,
            anomalies,
            model?.Name ?? BaselineModel,
            model?.Version ?? 0));
    }

    private async ValueTask<(ServedModel? Model, ScoreResult Result)> ScoreAsync(
        HttpContext context, bool baseline, Memory<float> features, Memory<float> scores)
    {
        if (baseline)
        {
            scores.Span.Clear();
            return (null, new ScoreResult(ScoreStatus.Ok));
        }

        if (repository.IsDraining || !repository.TryGet(_options.SensorModel, out var model))
        {
            return (null, new ScoreResult(ScoreStatus.Stopped));
        }

        if (model.FeatureCount != SensorFeatures.Count)
        {
            return (model, new ScoreResult(
                ScoreStatus.Failed,
                Error: $"Model '{model.Name}' takes {model.FeatureCount} features; a sensor reading gives {SensorFeatures.Count}."));
        }

        // Only single readings are cached: a batch is one model run either way.
        var cacheable = cache.Enabled && scores.Length == 1;
        if (cacheable && cache.TryGet(model.Name, model.Version, features.Span, out var cached))
        {
            scores.Span[0] = cached;
            requestLog.Set("CacheHit", true);
            return (model, new ScoreResult(ScoreStatus.Ok));
        }

        var result = await model.Batcher.ScoreAsync(features, scores, context.RequestAborted);
        if (result.Status == ScoreStatus.Stopped && !repository.IsDraining && repository.TryGet(_options.SensorModel, out var swapped))
        {
            // A reload swapped the model between lookup and enqueue: the new version takes the request.
            model = swapped;
            result = await model.Batcher.ScoreAsync(features, scores, context.RequestAborted);
        }

        if (cacheable && result.IsOk)
        {
            cache.Add(model.Name, model.Version, features.Span, scores.Span[0]);
        }

        // Onto the request's one summary log event: where its time went.
        requestLog.Set("Model", model.Name);
        requestLog.Set("QueueMs", result.QueueTime.TotalMilliseconds);
        requestLog.Set("ComputeMs", result.ComputeTime.TotalMilliseconds);
        requestLog.Set("BatchRequests", result.BatchRequests);
        return (model, result);
    }

    private ProblemHttpResult? Failure(HttpContext context, string endpoint, ScoreResult result, long started)
    {
        if (result.IsOk)
        {
            return null;
        }

        // A client that hung up is not a server error.
        Finish(endpoint, started, success: result.Status == ScoreStatus.Cancelled, Outcome(result.Status));
        switch (result.Status)
        {
            case ScoreStatus.Rejected:
                context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem(
                    "The model's queue is full; retry after the interval in Retry-After.",
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "Overloaded");
            case ScoreStatus.Stopped:
                context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem(
                    $"Model '{_options.SensorModel}' is not serving (not loaded, or the server is shutting down).",
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "Model unavailable");
            case ScoreStatus.Cancelled:
                return TypedResults.Problem("The client closed the request.", statusCode: 499, title: "Client closed request");
            default:
                return TypedResults.Problem(
                    result.Error, statusCode: StatusCodes.Status500InternalServerError, title: "Model run failed");
        }
    }

    private TimeSpan Finish(string endpoint, long started, bool success, string outcome = "ok")
    {
        var latency = time.GetElapsedTime(started);
        monitor.Record(latency, success);
        metrics.RecordPrediction(endpoint, outcome, latency);
        return latency;
    }

    internal static string Outcome(ScoreStatus status) => status switch
    {
        ScoreStatus.Rejected => "rejected",
        ScoreStatus.Stopped => "unavailable",
        ScoreStatus.Cancelled => "cancelled",
        _ => "failed",
    };

    /// <summary>A 400 (or 413) problem naming the field at fault in <c>errors</c>, as validation problems do.</summary>
    private static ProblemHttpResult Invalid(FieldError error) =>
        TypedResults.Problem(
            error.Message,
            statusCode: error.Status,
            title: error.Status == StatusCodes.Status413PayloadTooLarge ? "Request too large" : "Invalid sensor reading",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [error.Field] = [error.Message] } });
}
