using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Simulation;

namespace RealTimeInference.Server.Streaming;

/// <summary><c>GET /stream-predictions</c> (SSE), <c>WS /ws/predict</c>, the in-server simulator and the live page.</summary>
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
        services.AddOptions<WebSocketPredictOptions>()
            .BindConfiguration(WebSocketPredictOptions.Section)
            .Validate(o => o.MaxMessageBytes is >= 64 and <= 64 * 1024 * 1024, "WebSockets:MaxMessageBytes must be within 64..67108864.")
            .Validate(o => o.MaxConnections >= 1, "WebSockets:MaxConnections must be at least 1.")
            .Validate(o => o.MaxInFlightPerConnection is >= 1 and <= 10_000, "WebSockets:MaxInFlightPerConnection must be within 1..10000.")
            .Validate(o => o.KeepAliveInterval > TimeSpan.Zero && o.KeepAliveTimeout > TimeSpan.Zero, "WebSockets:KeepAliveInterval and KeepAliveTimeout must be positive.")
            .ValidateOnStart();
        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.Section)
            .Validate(o => o.Tools is >= 1 and <= 1000 && o.SensorsPerTool is >= 1 and <= 100, "Simulator:Tools must be within 1..1000 and SensorsPerTool within 1..100.")
            .Validate(o => o.RateHz is > 0 and <= 1000, "Simulator:RateHz must be within (0, 1000].")
            .Validate(o => o.AnomalyRate is >= 0 and <= 1, "Simulator:AnomalyRate must be within [0, 1].")
            .ValidateOnStart();
        services.AddSingleton<StreamMetrics>();
        services.AddSingleton<PredictionHub>();
        services.AddSingleton<PredictionStream>();
        services.AddSingleton<PredictSockets>();
        services.AddSingleton<WebSocketSlots>();
        services.AddHostedService<SimulatorService>();
        return services;
    }

    /// <summary>Maps the stream endpoints (the live page, <c>wwwroot/index.html</c> at <c>/</c>, is a static file).</summary>
    public static WebApplication MapStreamingEndpoints(this WebApplication app)
    {
        var streams = app.MapGroup("").WithTags("Streams").WithApiKey(app.Services);
        streams.MapGet("/stream-predictions", StreamPredictions)
            .WithName("StreamPredictions")
            .WithSummary("Server-Sent Events: every prediction the server makes")
            .WithDescription("Each event's data is {\"reading\": {...}, \"prediction\": p, \"is_anomaly\", \"source\", \"model\", \"model_version\"} with an id; "
                + "filter with tool_id, sensor_id, anomalies_only; resume with Last-Event-ID. A `dropped` event tells a slow subscriber how many events it lost; "
                + "a `heartbeat` event keeps an idle stream open.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        streams.Map(PredictSocketSession.Endpoint, (HttpContext context, PredictSockets handler) => handler.AcceptAsync(context))
            .WithName("PredictWebSocket")
            .WithSummary("WebSocket: JSON readings, JSON arrays, or binary frames in; scores out, in order")
            .ExcludeFromDescription();
        return app;
    }

    private static Results<ServerSentEventsResult<string>, ProblemHttpResult> StreamPredictions(
        HttpContext context,
        PredictionHub hub,
        PredictionStream stream,
        IOptions<StreamingOptions> options,
        [FromQuery(Name = "tool_id")] string? toolId,
        [FromQuery(Name = "sensor_id")] string? sensorId,
        [FromQuery(Name = "anomalies_only")] bool? anomaliesOnly,
        [FromHeader(Name = "Last-Event-ID")] string? lastEventId)
    {
        long? resumeAfter = long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : null;
        if (hub.TrySubscribe(new StreamFilter(toolId, sensorId, anomaliesOnly ?? false), resumeAfter) is not { } subscription)
        {
            return Unavailable(context, options.Value.RetryAfterSeconds, $"The stream has its maximum of {options.Value.MaxSubscribers} subscribers.");
        }

        var body = new CoalescingResponseStream(context.Response.Body, subscription.Reader);
        context.Response.RegisterForDispose(body);
        context.Response.Body = body;
        return TypedResults.ServerSentEvents(stream.ReadAsync(subscription, context.RequestAborted));
    }

    internal static ProblemHttpResult Unavailable(HttpContext context, int retryAfterSeconds, string detail)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many connections");
    }
}

/// <summary>Accepts <c>/ws/predict</c> sockets while <see cref="WebSocketSlots"/> has room.</summary>
internal sealed class PredictSockets(
    SensorScorer scorer,
    PredictionHub hub,
    RequestMonitor monitor,
    ServerMetrics serverMetrics,
    WebSocketSlots slots,
    IOptions<WebSocketPredictOptions> options,
    IOptions<PredictionOptions> predictionOptions,
    TimeProvider time)
{
    private readonly WebSocketPredictOptions _options = options.Value;

    public async Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem(
                "Open a WebSocket here (Upgrade: websocket).", statusCode: StatusCodes.Status400BadRequest, title: "WebSocket expected");
        }

        if (slots.TryTake(context) is { } refused)
        {
            return refused;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var session = new PredictSocketSession(
                socket, scorer, hub, monitor, serverMetrics, _options, predictionOptions.Value.MaxBatchReadings, time);
            await session.RunAsync(context.RequestAborted);
        }
        finally
        {
            slots.Release();
        }

        return TypedResults.Empty;
    }
}
