using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;
using Serilog;

namespace RealTimeInference.Server.Predictions;

/// <summary><c>POST /predict</c>, <c>POST /predict-batch</c> and their no-model baselines: body -> readings -> <see cref="SensorScoring"/> -> answer.</summary>
internal static class PredictionEndpoints
{
    public static IServiceCollection AddPredictions(this IServiceCollection services)
    {
        services.AddOptions<PredictionOptions>()
            .BindConfiguration(PredictionOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.SensorModel), "Prediction:SensorModel is required.")
            .Validate(o => o.MaxBatchReadings is >= 1 and <= 1_000_000, "Prediction:MaxBatchReadings must be within 1..1000000.")
            .Validate(o => o.MaxRequestBytes >= 256 && o.MaxBatchRequestBytes >= 256, "Prediction:MaxRequestBytes and MaxBatchRequestBytes must be at least 256.")
            .Validate(o => o.RetryAfterSeconds >= 1, "Prediction:RetryAfterSeconds must be at least 1.")
            .Validate(
                o => LatencyClasses.TryParse(o.PredictClass, out _) && LatencyClasses.TryParse(o.BatchClass, out _),
                "Prediction:PredictClass and BatchClass must be emergency, process-control, defect-detection or yield-forecasting.")
            .ValidateOnStart();
        services.AddSingleton<SensorScoring>();
        services.AddSingleton<IModelCheck, SensorSchemaCheck>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, PredictionJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapPredictionEndpoints(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<PredictionOptions>>().Value;
        Map(app.MapGroup("").WithTags("Predictions").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest), options, baseline: false);
        if (options.EnableBaseline)
        {
            // Same parsing and serialization with no model: the yardstick benchmarks divide by.
            Map(app.MapGroup("/baseline").WithTags("Benchmark baseline").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest), options, baseline: true);
        }

        return app;
    }

    private static void Map(RouteGroupBuilder group, PredictionOptions options, bool baseline)
    {
        var suffix = baseline ? " (no-model baseline)" : "";
        group.MapPost("/predict", (HttpContext context, [AsParameters] PredictionServices services) => PredictAsync(context, services, baseline))
            .WithName(baseline ? "BaselinePredict" : "Predict")
            .WithSummary("Score one sensor reading" + suffix)
            .WithDescription("Returns the anomaly model's probability for one reading. Bad input gets 400 naming every field at fault; a full queue, or a deadline (X-Latency-Class, X-Deadline-Ms) the queue cannot meet, gets 503 with Retry-After.")
            .Accepts<SensorReadingRequest>("application/json")
            .WithBodyLimit(options.MaxRequestBytes)
            .WithErrorResponses();
        group.MapPost("/predict-batch", (HttpContext context, [AsParameters] PredictionServices services) => PredictBatchAsync(context, services, baseline))
            .WithName(baseline ? "BaselinePredictBatch" : "PredictBatch")
            .WithSummary("Score a JSON array of sensor readings in one model run" + suffix)
            .WithDescription("Up to Prediction:MaxBatchReadings readings (default 10,000); an empty array is 400, a larger one 413. Up to 100 fields at fault are named, as [i].field.")
            .Accepts<SensorReadingRequest[]>("application/json")
            .WithBodyLimit(options.MaxBatchRequestBytes)
            .WithErrorResponses();
    }

    private static async Task<Results<Ok<PredictionResponse>, ProblemHttpResult>> PredictAsync(
        HttpContext context, PredictionServices services, bool baseline)
    {
        var request = services.Start(context, baseline ? "/baseline/predict" : "/predict", services.PredictClass);
        if (request.Invalid is { } badHeader)
        {
            return services.Refuse(request, badHeader);
        }

        using var batch = new SensorBatch(1, services.Time.GetUtcNow());
        if (await RequestBody.ParseAsync(context, (in body) => SensorReadingJson.ParseOne(body, batch)) is { } bad)
        {
            return services.Refuse(request, bad);
        }

        var score = baseline ? SensorScoring.Baseline(batch) : await services.ScoreAsync(request, batch);
        if (!score.IsOk)
        {
            return services.Fail(request, score);
        }

        var latency = services.Succeed(request, score);
        var value = batch.Scores.Span[0];
        return TypedResults.Ok(new PredictionResponse(
            value, score.IsAnomaly(value), batch.Readings[0].Timestamp, latency.TotalMilliseconds, score.ModelName, score.ModelVersion, score.Fallback));
    }

    private static async Task<Results<Ok<BatchPredictionResponse>, ProblemHttpResult>> PredictBatchAsync(
        HttpContext context, PredictionServices services, bool baseline)
    {
        var request = services.Start(context, baseline ? "/baseline/predict-batch" : "/predict-batch", services.BatchClass);
        if (request.Invalid is { } badHeader)
        {
            return services.Refuse(request, badHeader);
        }

        SensorBatch? batch = null;
        var maxReadings = services.Options.Value.MaxBatchReadings;
        var bad = await RequestBody.ParseAsync(context, (in body) =>
        {
            // No body can hold more readings than it has bytes for, which bounds the rental.
            batch = new SensorBatch(SensorReadingJson.CapacityFor(body.Length, maxReadings), services.Time.GetUtcNow());
            return SensorReadingJson.ParseMany(body, batch, maxReadings);
        });
        if (bad is not null || batch is null)
        {
            batch?.Dispose();
            return services.Refuse(request, bad!);
        }

        // The scores are serialized after this method returns: the response disposes the batch.
        context.Response.RegisterForDispose(batch);
        var score = baseline ? SensorScoring.Baseline(batch) : await services.ScoreAsync(request, batch);
        if (!score.IsOk)
        {
            return services.Fail(request, score);
        }

        var anomalies = new List<int>();
        var scores = batch.Scores.Span;
        for (var i = 0; i < scores.Length; i++)
        {
            if (score.IsAnomaly(scores[i]))
            {
                anomalies.Add(i);
            }
        }

        var latency = services.Succeed(request, score);
        return TypedResults.Ok(new BatchPredictionResponse(
            batch.Scores, batch.Count, latency.TotalMilliseconds / batch.Count, latency.TotalMilliseconds, anomalies, score.ModelName, score.ModelVersion, score.Fallback));
    }
}

/// <summary>One HTTP prediction request on its way: where, when, and by when.</summary>
internal readonly record struct PredictionRequest(HttpContext Context, string Endpoint, long Started, Deadline Deadline, RequestErrors? Invalid);

/// <summary>What the predict handlers need; also the little they share: metrics, the request log, problems.</summary>
internal readonly record struct PredictionServices(
    SensorScoring Scoring,
    RequestMetrics Metrics,
    IOptions<PredictionOptions> Options,
    IDiagnosticContext RequestLog,
    TimeProvider Time)
{
    public LatencyClass PredictClass => Parse(Options.Value.PredictClass);

    public LatencyClass BatchClass => Parse(Options.Value.BatchClass);

    public PredictionRequest Start(HttpContext context, string endpoint, LatencyClass endpointDefault)
    {
        var started = Time.GetTimestamp();
        var invalid = RequestDeadline.Read(context.Request, endpointDefault, started, Time, out var deadline);
        return new PredictionRequest(context, endpoint, started, deadline, invalid);
    }

    public ValueTask<SensorScore> ScoreAsync(PredictionRequest request, SensorBatch batch) =>
        Scoring.ScoreAsync(
            batch, request.Deadline, new PredictionOrigin(PredictionSource.Http, request.Context.TraceIdentifier, request.Started), safeDefault: true, request.Context.RequestAborted);

    public ProblemHttpResult Refuse(PredictionRequest request, RequestErrors errors)
    {
        Record(request, errors.Outcome);
        return Problems.Invalid(errors, "Invalid sensor reading");
    }

    public ProblemHttpResult Fail(PredictionRequest request, SensorScore score)
    {
        Log(request, score);
        Record(request, score.Outcome);
        return Problems.For(
            request.Context, score.Outcome, score.Result.RetryAfter, Options.Value.RetryAfterSeconds, Scoring.ModelName, score.Result.Error);
    }

    public TimeSpan Succeed(PredictionRequest request, SensorScore score)
    {
        Log(request, score);
        return Record(request, score.Outcome);
    }

    private TimeSpan Record(PredictionRequest request, Inference.Outcomes.Outcome outcome)
    {
        var latency = Time.GetElapsedTime(request.Started);
        Metrics.RecordRequest(request.Endpoint, request.Deadline.Class, outcome, latency);
        return latency;
    }

    /// <summary>Onto the request's one summary log event: who answered and where its time went.</summary>
    private void Log(PredictionRequest request, SensorScore score)
    {
        RequestLog.Set("Model", score.ModelName);
        RequestLog.Set("LatencyClass", request.Deadline.Class.Name());
        if (score.CacheHit)
        {
            RequestLog.Set("CacheHit", true);
            return;
        }

        if (score.Fallback)
        {
            RequestLog.Set("AnsweredBy", score.ModelName);
        }

        RequestLog.Set("QueueMs", score.Result.QueueTime.TotalMilliseconds);
        RequestLog.Set("ComputeMs", score.Result.ComputeTime.TotalMilliseconds);
        RequestLog.Set("BatchRequests", score.Result.BatchRequests);
    }

    private static LatencyClass Parse(string name) =>
        LatencyClasses.TryParse(name, out var latencyClass) ? latencyClass : throw new InvalidOperationException($"Unknown latency class '{name}'.");
}
