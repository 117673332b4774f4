using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Fab.Process;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Yield;

/// <summary><c>POST /predict-yield</c>: process states -> <see cref="YieldScoring"/> -> forecast yields.</summary>
internal static class YieldEndpoints
{
    private const string Endpoint = "/predict-yield";

    public static IServiceCollection AddYieldForecasts(this IServiceCollection services)
    {
        services.AddOptions<YieldOptions>()
            .BindConfiguration(YieldOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.Model), "Yield:Model is required.")
            .Validate(o => o.MaxStates is >= 1 and <= 1_000_000, "Yield:MaxStates must be within 1..1000000.")
            .Validate(o => o.MaxRequestBytes >= 256, "Yield:MaxRequestBytes must be at least 256.")
            .Validate(o => o.RetryAfterSeconds >= 1, "Yield:RetryAfterSeconds must be at least 1.")
            .Validate(o => LatencyClasses.TryParse(o.DefaultClass, out _), "Yield:DefaultClass must be emergency, process-control, defect-detection or yield-forecasting.")
            .ValidateOnStart();
        services.AddSingleton<YieldScoring>();
        services.AddSingleton<IModelCheck, YieldSchemaCheck>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, YieldJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapYieldEndpoints(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<YieldOptions>>().Value;
        app.MapGroup("").WithTags("Yield").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest)
            .MapPost(Endpoint, PredictYieldAsync)
            .WithName("PredictYield")
            .WithSummary("Forecast the yield of one process state, or of an array of them")
            .WithDescription("A process state is the recipe setpoints, the chamber age and the last lot's sensor statistics (every field required). " +
                "One object answers {predicted_yield, ...}; an array (up to Yield:MaxStates) answers {predictions[], count, ...} in one model run. " +
                "Queued in the yield-forecasting class unless X-Latency-Class or X-Deadline-Ms says otherwise: under overload it is shed first (503 with Retry-After).")
            .Accepts<ProcessStateRequest>("application/json")
            .WithBodyLimit(options.MaxRequestBytes)
            .WithErrorResponses();
        return app;
    }

    private static async Task<Results<Ok<YieldResponse>, Ok<YieldBatchResponse>, ProblemHttpResult>> PredictYieldAsync(
        HttpContext context, YieldScoring scoring, RequestMetrics metrics, IOptions<YieldOptions> options, TimeProvider time)
    {
        var settings = options.Value;
        var started = time.GetTimestamp();
        LatencyClasses.TryParse(settings.DefaultClass, out var defaultClass);
        if (RequestDeadline.Read(context.Request, defaultClass, started, time, out var deadline) is { } badHeader)
        {
            return Refuse(badHeader);
        }

        var states = new List<ProcessState>();
        var isArray = false;
        if (await RequestBody.ParseAsync(context, (in body) => YieldStateJson.Parse(body, states, settings.MaxStates, out isArray)) is { } bad)
        {
            return Refuse(bad);
        }

        var score = await scoring.ScoreAsync(states, deadline, context.RequestAborted);
        if (score.IsOk && !score.Predictions.All(float.IsFinite))
        {
            // JSON has no NaN: a broken model is a failed run, not a 500 from the serializer.
            score = score with { Result = new ScoreResult(Outcome.Failed, Error: "the model's output was not a finite number") };
        }

        var latency = time.GetElapsedTime(started);
        metrics.RecordRequest(Endpoint, deadline.Class, score.Result.Outcome, latency);
        if (!score.IsOk || score.Model is not { } model)
        {
            return Problems.For(context, score.Result.Outcome, score.Result.RetryAfter, settings.RetryAfterSeconds, scoring.ModelName, score.Result.Error);
        }

        return isArray
            ? TypedResults.Ok(new YieldBatchResponse(score.Predictions, score.Predictions.Length, model.Name, model.Version, latency.TotalMilliseconds))
            : TypedResults.Ok(new YieldResponse(score.Predictions[0], model.Name, model.Version, latency.TotalMilliseconds));

        ProblemHttpResult Refuse(RequestErrors errors)
        {
            metrics.RecordRequest(Endpoint, deadline.Class, errors.Outcome, time.GetElapsedTime(started));
            return Problems.Invalid(errors, "Invalid process state");
        }
    }
}
