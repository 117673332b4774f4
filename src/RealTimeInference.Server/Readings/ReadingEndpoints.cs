using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Readings;

/// <summary><c>POST /readings</c>: readings with their context and any sensors -> routed model -> answer.</summary>
internal static class ReadingEndpoints
{
    private const string Endpoint = "/readings";

    public static IServiceCollection AddReadings(this IServiceCollection services)
    {
        services.AddOptions<ReadingOptions>()
            .BindConfiguration(ReadingOptions.Section)
            .Validate(o => o.MaxReadings is >= 1 and <= 1_000_000, "Readings:MaxReadings must be within 1..1000000.")
            .Validate(o => o.MaxRequestBytes >= 256, "Readings:MaxRequestBytes must be at least 256.")
            .Validate(o => LatencyClasses.TryParse(o.Class, out _), "Readings:Class must be emergency, process-control, defect-detection or yield-forecasting.")
            .ValidateOnStart();
        services.AddOptions<RoutingOptions>()
            .BindConfiguration(RoutingOptions.Section)
            .Validate(o => !ContextRouter.Validate(o).Any(), "Routing:Rules and Routing:Traces: every rule needs a Model, whose {placeholders} are tool, chamber, recipe or step.")
            .ValidateOnStart();
        services.AddSingleton<ContextRouter>();
        services.AddSingleton<ReadingScoring>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ReadingJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapReadingEndpoints(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ReadingOptions>>().Value;
        var group = app.MapGroup("").WithTags("Readings").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest);
        TraceEndpoints.Map(group, options);
        group.MapPost(Endpoint, ScoreAsync)
            .WithName("Readings")
            .WithSummary("Score readings with their context: one object, or an array")
            .WithDescription(
                "Each reading's context (tool_id required; chamber_id, recipe, step, lot_id, wafer_id) picks its model by Routing:Rules; its values are the model's sensors by name. "
                + "No rule for a context: 422 naming it. Missing or extra sensors: 400 naming each ([i].values.name). Overload and deadlines as for /predict.")
            .Accepts<ReadingRequest>("application/json")
            .WithBodyLimit(options.MaxRequestBytes)
            .WithErrorResponses()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    private static async Task<Results<Ok<ReadingResponse>, Ok<ReadingsResponse>, ProblemHttpResult>> ScoreAsync(
        HttpContext context, ReadingScoring scoring, RequestMetrics metrics, IOptions<ReadingOptions> options, IOptions<PredictionOptions> predictions, TimeProvider time)
    {
        var started = time.GetTimestamp();
        LatencyClasses.TryParse(options.Value.Class, out var endpointClass);
        if (RequestDeadline.Read(context.Request, endpointClass, started, time, out var deadline) is { } badHeader)
        {
            return Refuse(badHeader);
        }

        var maxReadings = options.Value.MaxReadings;
        ReadingBatch? batch = null;
        var isArray = false;
        var bad = await RequestBody.ParseAsync(context, (in body) =>
        {
            batch = new ReadingBatch(ReadingJson.CapacityFor(body.Length, Math.Min(maxReadings, 1024)), time.GetUtcNow());
            return ReadingJson.Parse(body, batch, maxReadings, out isArray);
        });
        if (bad is not null || batch is null)
        {
            batch?.Dispose();
            return Refuse(bad!);
        }

        using (batch)
        {
            var score = await scoring.ScoreAsync(batch, isArray, deadline, new PredictionOrigin(PredictionSource.Http, context.TraceIdentifier, started), context.RequestAborted);
            var latency = time.GetElapsedTime(started);
            metrics.RecordRequest(Endpoint, deadline.Class, score.Outcome, latency);
            if (Refusal(context, score, predictions.Value, "Invalid reading") is { } refused)
            {
                return refused;
            }

            if (isArray)
            {
                return TypedResults.Ok(ReadingAnswers.Many(batch, latency.TotalMilliseconds));
            }

            return TypedResults.Ok(ReadingAnswers.One(batch, latency.TotalMilliseconds));
        }

        ProblemHttpResult Refuse(RequestErrors errors)
        {
            metrics.RecordRequest(Endpoint, deadline.Class, errors.Outcome, time.GetElapsedTime(started));
            return Problems.Invalid(errors, "Invalid reading");
        }
    }

    /// <summary>The problem for readings that were not scored: the fields at fault, or the engine's outcome with its Retry-After; null when scored.</summary>
    internal static ProblemHttpResult? Refusal(HttpContext context, in ReadingScore score, PredictionOptions predictions, string title) =>
        score.Errors is { } errors ? Problems.Invalid(errors, title)
        : score.IsOk ? null
        : Problems.For(context, score.Outcome, score.Result.RetryAfter, predictions.RetryAfterSeconds, score.Model, score.Result.Error);
}
