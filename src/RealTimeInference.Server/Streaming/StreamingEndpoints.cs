using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Streaming;

/// <summary><c>GET /stream-predictions</c> (SSE) and the live page that reads it.</summary>
internal static class StreamingEndpoints
{
    public static IServiceCollection AddStreaming(this IServiceCollection services)
    {
        services.AddOptions<StreamingOptions>()
            .BindConfiguration(StreamingOptions.Section)
            .Validate(o => o.SubscriberBufferSize is >= 1 and <= 1_000_000, "Streaming:SubscriberBufferSize must be within 1..1000000.")
            .Validate(o => o.ReplayCapacity is >= 1 and <= 1_000_000, "Streaming:ReplayCapacity must be within 1..1000000.")
            .Validate(o => o.OutboxCapacity is >= 1 and <= 100_000_000, "Streaming:OutboxCapacity must be within 1..100000000.")
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero, "Streaming:HeartbeatInterval must be positive.")
            .Validate(o => o.CoalesceInterval >= TimeSpan.Zero && o.CoalesceInterval < o.HeartbeatInterval, "Streaming:CoalesceInterval must be within [0, HeartbeatInterval).")
            .Validate(o => o.ReplayRetention >= TimeSpan.Zero, "Streaming:ReplayRetention must not be negative.")
            .Validate(o => o.MaxSubscribers >= 1, "Streaming:MaxSubscribers must be at least 1.")
            .Validate(o => o.RetryAfterSeconds >= 1, "Streaming:RetryAfterSeconds must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<StreamMetrics>();
        services.AddSingleton<PredictionHub>();
        services.AddSingleton<IPredictionSink>(sp => sp.GetRequiredService<PredictionHub>());
        services.AddHostedService<StreamPump>();
        return services;
    }

    /// <summary>Maps the stream (the live page, <c>wwwroot/index.html</c> at <c>/</c>, is a static file).</summary>
    public static IEndpointRouteBuilder MapStreamingEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("").WithTags("Streams").WithRole(app.ServiceProvider, Roles.Viewer)
            .MapGet("/stream-predictions", StreamPredictions)
            .WithName("StreamPredictions")
            .WithSummary("Server-Sent Events: every prediction the server makes")
            .WithDescription("Each event's data is {\"reading\": {...}, \"prediction\": p, \"is_anomaly\", \"source\", \"model\", \"model_version\"} with an id; "
                + "a reading with context adds \"context\" and \"values\"; filter with tool_id, chamber_id, sensor_id, anomalies_only; resume with Last-Event-ID. A `dropped` event tells a slow subscriber how many events it lost; "
                + "a `: heartbeat` comment keeps an idle stream open.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static Results<PredictionStream, ProblemHttpResult> StreamPredictions(
        HttpContext context,
        PredictionHub hub,
        RequestMetrics metrics,
        IOptions<StreamingOptions> options,
        TimeProvider time,
        [FromQuery(Name = "tool_id")] string? toolId,
        [FromQuery(Name = "sensor_id")] string? sensorId,
        [FromQuery(Name = "chamber_id")] string? chamberId,
        [FromQuery(Name = "anomalies_only")] bool? anomaliesOnly,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventId)
    {
        long? resumeAfter = long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : null;
        if (hub.TrySubscribe(new StreamFilter(toolId, sensorId, anomaliesOnly ?? false, chamberId), resumeAfter) is not { } subscription)
        {
            metrics.ConnectionRejected("subscriber");
            return Problems.TooManyConnections(context, options.Value.RetryAfterSeconds, $"The stream has its maximum of {options.Value.MaxSubscribers} subscribers.");
        }

        return new PredictionStream(subscription, options.Value, time);
    }
}
