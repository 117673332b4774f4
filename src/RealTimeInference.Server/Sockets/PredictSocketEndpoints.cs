using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Readings;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Sockets;

/// <summary><c>WS /ws/predict</c>: JSON readings, JSON arrays or binary frames in; scores out, in order. <c>WS /ws/readings</c>: readings with context in, routed, answers out, in order.</summary>
internal static class PredictSocketEndpoints
{
    public static IServiceCollection AddPredictSockets(this IServiceCollection services) => services.AddSocketDefaults();

    public static IEndpointRouteBuilder MapPredictSocketEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("").WithTags("Streams").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest)
            .Map(PredictSocketSession.Endpoint, AcceptAsync)
            .WithName("PredictWebSocket")
            .WithSummary("WebSocket: JSON readings, JSON arrays, or binary frames in; scores out, in order")
            .ExcludeFromDescription();
        app.MapGroup("").WithTags("Streams").WithClientRateLimit(app.ServiceProvider).WithRole(app.ServiceProvider, Roles.Ingest)
            .Map(PredictSocketSession.ReadingsEndpoint, AcceptReadingsAsync)
            .WithName("ReadingsWebSocket")
            .WithSummary("WebSocket: readings with context (one or an array a message) in; /readings' answers out, in order")
            .ExcludeFromDescription();
        return app;
    }

    /// <summary>What every socket endpoint takes from the services.</summary>
    internal readonly record struct SocketServices(
        SensorScoring Scoring,
        RequestMetrics Metrics,
        WebSocketSlots Slots,
        ClientLimiter Limiter,
        SocketMemory Memory,
        IOptions<SocketOptions> Options,
        IOptions<PredictionOptions> Predictions,
        TimeProvider Time);

    /// <summary>Readings on the socket are due within the /predict class (Prediction:PredictClass) of their arrival.</summary>
    private static Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptAsync(HttpContext context, [AsParameters] SocketServices services) =>
        RunAsync(context, services, null, services.Predictions.Value.PredictClass);

    /// <summary>Readings with context on the socket are due within the /readings class (Readings:Class) of their arrival.</summary>
    private static Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptReadingsAsync(
        HttpContext context, [AsParameters] SocketServices services, ReadingScoring readings, IOptions<ReadingOptions> readingOptions) =>
        RunAsync(context, services, new SocketReadings(readings, readingOptions.Value.MaxReadings), readingOptions.Value.Class);

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> RunAsync(HttpContext context, SocketServices services, SocketReadings? readings, string className)
    {
        var (scoring, metrics, slots, limiter, memory, options, predictions, time) = services;
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
            var latencyClass = LatencyClasses.TryParse(className, out var parsed) ? parsed : LatencyClass.ProcessControl;
            var session = new PredictSocketSession(socket, scoring, readings, metrics, options.Value, predictions.Value, latencyClass, ClientIdentity.Of(context), context.TraceIdentifier, () => TryAcquire(limiter, context), memory, time);
            await session.RunAsync(context.RequestAborted);
        }
        finally
        {
            slots.Release();
        }

        return TypedResults.Empty;
    }

    /// <summary>A message spends a token of the socket's client, as an HTTP request does: null when it may go on, else when to retry.</summary>
    private static TimeSpan? TryAcquire(ClientLimiter limiter, HttpContext context) =>
        limiter.TryAcquire(context, out var retryAfter) ? null : retryAfter;
}
