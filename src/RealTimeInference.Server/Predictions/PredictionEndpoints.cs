using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;

namespace RealTimeInference.Server.Predictions;

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
        services.AddSingleton<SensorScorer>();
        services.AddSingleton<SensorPredictor>();
        return services;
    }

    public static IEndpointRouteBuilder MapPredictionEndpoints(this IEndpointRouteBuilder app)
    {
        var predictions = app.MapGroup("").WithTags("Predictions")
            .WithClientRateLimit(app.ServiceProvider)
            .WithApiKey(app.ServiceProvider);
        Map(predictions, baseline: false);

        if (app.ServiceProvider.GetRequiredService<IOptions<PredictionOptions>>().Value.EnableBaseline)
        {
            // Same parsing and serialization with no model: the yardstick benchmarks divide by.
            Map(app.MapGroup("/baseline").WithTags("Benchmark baseline").WithClientRateLimit(app.ServiceProvider).WithApiKey(app.ServiceProvider), baseline: true);
        }

        return app;
    }

    private static void Map(RouteGroupBuilder group, bool baseline)
    {
        var suffix = baseline ? " (no-model baseline)" : "";
        group.MapPost("/predict", (HttpContext context, SensorPredictor predictor) => predictor.PredictAsync(context, baseline))
            .WithName(baseline ? "BaselinePredict" : "Predict")
            .WithSummary("Score one sensor reading" + suffix)
            .WithDescription("Returns the anomaly model's probability for one reading. Bad input gets 400 naming the field; a full queue, or a deadline (X-Latency-Class, X-Deadline-Ms) the queue cannot meet, gets 503 with Retry-After.")
            .Accepts<SensorReadingRequest>("application/json")
            .WithErrorResponses();
        group.MapPost("/predict-batch", (HttpContext context, SensorPredictor predictor) => predictor.PredictBatchAsync(context, baseline))
            .WithName(baseline ? "BaselinePredictBatch" : "PredictBatch")
            .WithSummary("Score a JSON array of sensor readings in one model run" + suffix)
            .WithDescription("Up to Prediction:MaxBatchReadings readings (default 10,000); an empty array is 400, a larger one 413.")
            .Accepts<SensorReadingRequest[]>("application/json")
            .WithErrorResponses();
    }

    /// <summary>The problems every predict endpoint may answer, for the OpenAPI document.</summary>
    internal static RouteHandlerBuilder WithErrorResponses(this RouteHandlerBuilder endpoint) => endpoint
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
