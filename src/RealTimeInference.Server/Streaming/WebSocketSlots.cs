using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// The server's WebSockets (<c>/ws/predict</c> and <c>/ws/webcam</c> together) counted against
/// <see cref="WebSocketPredictOptions.MaxConnections"/>: one over it is refused before the upgrade.
/// </summary>
internal sealed class WebSocketSlots(IOptions<WebSocketPredictOptions> options, IOptions<StreamingOptions> streaming, StreamMetrics metrics)
{
    private int _open;

    /// <summary>Null when a slot was taken (give it back with <see cref="Release"/>); otherwise the 503 to answer.</summary>
    public ProblemHttpResult? TryTake(HttpContext context)
    {
        if (Interlocked.Increment(ref _open) > options.Value.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            metrics.Rejected("websocket");
            return StreamingEndpoints.Unavailable(
                context, streaming.Value.RetryAfterSeconds, $"The server has its maximum of {options.Value.MaxConnections} WebSockets open.");
        }

        metrics.SocketsChanged(1);
        return null;
    }

    public void Release()
    {
        Interlocked.Decrement(ref _open);
        metrics.SocketsChanged(-1);
    }
}
