using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Caching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Resilience;
using RealTimeInference.Inference.Scheduling;
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
    SensorScorer sensorModel,
    ModelGuard guard,
    PredictionHub hub,
    TimeProvider time)
{
    private const string BaselineModel = "baseline";

    /// <summary>The model name a safe-default answer carries.</summary>
    public const string SafeDefaultModel = "safe-default";

    private readonly PredictionOptions _options = options.Value;
    private readonly LatencyClass _predictClass = ParseClass(options.Value.PredictClass);
    private readonly LatencyClass _batchClass = ParseClass(options.Value.BatchClass);

    public async Task<Results<Ok<PredictionResponse>, ProblemHttpResult>> PredictAsync(HttpContext context, bool baseline)
    {
        var started = time.GetTimestamp();
        if (RequestDeadline.Read(context.Request, _predictClass, started, time, out var deadline) is { } badDeadline)
        {
            return Invalid(badDeadline);
        }

        // Features and the score share one rented buffer.
        using var buffer = new PooledFloats(SensorFeatures.Count + 1);
        ReadingLabels labels = default;
        var error = await RequestBody.ParseAsync(context, _options.MaxRequestBytes, (in body) =>
            SensorReadingJson.ParseOne(body, buffer.Slice(0, SensorFeatures.Count).Span, out labels));
        if (error is { } bad)
        {
            return Invalid(bad);
        }

        var answer = await ScoreAsync(
            context, baseline, buffer.Slice(0, SensorFeatures.Count), buffer.Slice(SensorFeatures.Count, 1), deadline);
        if (Failure(context, "/predict", deadline.Class, answer.Result, started) is { } problem)
        {
            return problem;
        }

        var score = buffer.Memory.Span[SensorFeatures.Count];
        var latency = Finish("/predict", deadline.Class, started, success: true);
        if (answer.Model is { } answered)
        {
            hub.Publish(PredictionSources.Http, answered, buffer.Memory.Span[..SensorFeatures.Count], buffer.Memory.Span[SensorFeatures.Count..], labels);
        }

        var (model, version) = Answered(answer);
        return TypedResults.Ok(new PredictionResponse(
            score,
            score >= Threshold(answer),
            labels.Timestamp ?? time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            latency.TotalMilliseconds,
            model,
            version,
            answer.Answerer != Answerer.Model));
    }

    public async Task<Results<Ok<BatchPredictionResponse>, ProblemHttpResult>> PredictBatchAsync(HttpContext context, bool baseline)
    {
        var started = time.GetTimestamp();
        if (RequestDeadline.Read(context.Request, _batchClass, started, time, out var deadline) is { } badDeadline)
        {
            return Invalid(badDeadline);
        }

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
        var answer = await ScoreAsync(context, baseline, rows.Slice(0, count * SensorFeatures.Count), scores.Memory, deadline);
        if (Failure(context, "/predict-batch", deadline.Class, answer.Result, started) is { } problem)
        {
            return problem;
        }

        if (answer.Model is { } answered)
        {
            hub.Publish(PredictionSources.Http, answered, rows.Memory.Span[..(count * SensorFeatures.Count)], scores.Memory.Span);
        }

        var anomalies = new List<int>();
        var threshold = Threshold(answer);
        var span = scores.Memory.Span;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] >= threshold)
            {
                anomalies.Add(i);
            }
        }

        var latency = Finish("/predict-batch", deadline.Class, started, success: true);
        var (model, version) = Answered(answer);
        return TypedResults.Ok(new BatchPredictionResponse(
            scores.Memory,
            count,
            latency.TotalMilliseconds / count,
            latency.TotalMilliseconds,
            anomalies,
            model,
            version,
            answer.Answerer != Answerer.Model));
    }

    private static (string Name, int Version) Answered(GuardedScore answer) => answer switch
    {
        { Model: { } model } => (model.Name, model.Version),
        { Answerer: Answerer.SafeDefault } => (SafeDefaultModel, 0),
        _ => (BaselineModel, 0),
    };

    /// <summary>The answering model's threshold; a safe default is judged by the requested model's; the baseline flags nothing.</summary>
    private double Threshold(GuardedScore answer) => answer switch
    {
        { Model: { } model } => model.Manifest.Threshold,
        { Answerer: Answerer.SafeDefault } when repository.TryGet(_options.SensorModel, out var requested) => requested.Manifest.Threshold,
        _ => double.PositiveInfinity,
    };

    /// <summary>Scores through the model's guard; the answer names who answered (the model, its fallback, or the safe default).</summary>
    private async ValueTask<GuardedScore> ScoreAsync(
        HttpContext context, bool baseline, Memory<float> features, Memory<float> scores, Deadline deadline)
    {
        if (baseline)
        {
            scores.Span.Clear();
            return new GuardedScore(new ScoreResult(ScoreStatus.Ok), null, Answerer.Model);
        }

        if (sensorModel.Resolve(out var resolved) is { } unusable)
        {
            return new GuardedScore(unusable, resolved, Answerer.Model);
        }

        var model = resolved!;

        // Only single readings are cached: a batch is one model run either way.
        var cacheable = cache.Enabled && scores.Length == 1;
        if (cacheable && cache.TryGet(model.Name, model.Version, features.Span, out var cached))
        {
            scores.Span[0] = cached;
            requestLog.Set("CacheHit", true);
            return new GuardedScore(new ScoreResult(ScoreStatus.Ok), model, Answerer.Model);
        }

        var answer = await guard.ScoreAsync(model, features, scores, deadline, context.RequestAborted);
        if (cacheable && answer is { Answerer: Answerer.Model, Result.IsOk: true, Model: { } answered })
        {
            cache.Add(answered.Name, answered.Version, features.Span, scores.Span[0]);
        }

        // Onto the request's one summary log event: where its time went.
        var result = answer.Result;
        requestLog.Set("Model", answer.Model?.Name ?? SafeDefaultModel);
        if (answer.Answerer != Answerer.Model)
        {
            requestLog.Set("AnsweredBy", answer.Answerer == Answerer.Fallback ? "fallback" : "safe-default");
        }

        requestLog.Set("QueueMs", result.QueueTime.TotalMilliseconds);
        requestLog.Set("ComputeMs", result.ComputeTime.TotalMilliseconds);
        requestLog.Set("BatchRequests", result.BatchRequests);
        requestLog.Set("LatencyClass", deadline.Class.Name());
        return answer;
    }

    private ProblemHttpResult? Failure(HttpContext context, string endpoint, LatencyClass latencyClass, ScoreResult result, long started)
    {
        if (result.IsOk)
        {
            return null;
        }

        // A client that hung up is not a server error.
        Finish(endpoint, latencyClass, started, success: result.Status == ScoreStatus.Cancelled, Outcome(result.Status));
        switch (result.Status)
        {
            case ScoreStatus.Rejected or ScoreStatus.Shed or ScoreStatus.Expired:
                SetRetryAfter(context, result.RetryAfter);
                return TypedResults.Problem(
                    DropDetail(result.Reason),
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: result.Reason is DropReason.DeadlineExpired or DropReason.DeadlineUnmeetable ? "Deadline cannot be met" : "Overloaded",
                    extensions: new Dictionary<string, object?> { ["reason"] = InferenceMetrics.ReasonLabel(result.Reason) });
            case ScoreStatus.Stopped:
                SetRetryAfter(context, TimeSpan.Zero);
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

    /// <summary>Whole seconds, rounded up, never under the configured least.</summary>
    private void SetRetryAfter(HttpContext context, TimeSpan predictedWait) =>
        context.Response.Headers.RetryAfter = Math.Max(_options.RetryAfterSeconds, (int)Math.Ceiling(predictedWait.TotalSeconds))
            .ToString(CultureInfo.InvariantCulture);

    private static string DropDetail(DropReason reason) => reason switch
    {
        DropReason.DeadlineUnmeetable => "The work queued ahead of this request would take longer than its deadline; retry after the interval in Retry-After.",
        DropReason.DeadlineExpired => "The request's deadline passed while it waited; nothing was computed.",
        DropReason.Sampled => "The model's queue is above its sampling watermark and this request was not sampled; retry after the interval in Retry-After.",
        DropReason.ShedOldest or DropReason.ShedNewest => "The request was shed from the model's queue to make room for more urgent or newer work.",
        _ => "The model's queue is full; retry after the interval in Retry-After.",
    };

    private static LatencyClass ParseClass(string name) =>
        LatencyClasses.TryParse(name, out var latencyClass) ? latencyClass : throw new InvalidOperationException($"Unknown latency class '{name}'.");

    private TimeSpan Finish(string endpoint, LatencyClass latencyClass, long started, bool success, string outcome = "ok")
    {
        var latency = time.GetElapsedTime(started);
        monitor.Record(latency, success);
        metrics.RecordPrediction(endpoint, latencyClass, outcome, latency);
        return latency;
    }

    internal static string Outcome(ScoreStatus status) => status switch
    {
        ScoreStatus.Rejected => "rejected",
        ScoreStatus.Shed => "shed",
        ScoreStatus.Expired => "expired",
        ScoreStatus.Stopped => "unavailable",
        ScoreStatus.Cancelled => "cancelled",
        _ => "failed",
    };

    /// <summary>A 400 (or 413) problem naming the field at fault in <c>errors</c>, as validation problems do.</summary>
    private static ProblemHttpResult Invalid(FieldError error) =>
        TypedResults.Problem(
            error.Message,
            statusCode: error.Status,
            title: error.Status == StatusCodes.Status413PayloadTooLarge ? "Request too large"
                : error.Field.StartsWith("X-", StringComparison.Ordinal) ? "Invalid request header"
                : "Invalid sensor reading",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [error.Field] = [error.Message] } });
}
