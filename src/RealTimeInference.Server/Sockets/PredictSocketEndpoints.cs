using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Security;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Sockets;

/// <summary><c>WS /ws/predict</c>: JSON readings, JSON arrays or binary frames in; scores out, in order.</summary>
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
        return app;
    }

    /// <summary>Readings on the socket are due within the /predict class (Prediction:PredictClass) of their arrival.</summary>
    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptAsync(
        HttpContext context,
        SensorScoring scoring,
        RequestMetrics metrics,
        WebSocketSlots slots,
        ClientLimiter limiter,
        SocketMemory memory,
        IOptions<SocketOptions> options,
        IOptions<PredictionOptions> predictions,
        TimeProvider time)
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
            var latencyClass = LatencyClasses.TryParse(predictions.Value.PredictClass, out var parsed) ? parsed : LatencyClass.ProcessControl;
            var session = new PredictSocketSession(socket, scoring, metrics, options.Value, predictions.Value, latencyClass, ClientIdentity.Of(context), context.TraceIdentifier, () => TryAcquire(limiter, context), memory, time);
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
