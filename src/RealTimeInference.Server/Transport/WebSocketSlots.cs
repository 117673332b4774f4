using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// The server's WebSockets (<c>/ws/predict</c> and <c>/ws/webcam</c> together) counted against
/// <see cref="SocketOptions.MaxConnections"/>: one over it is refused before the upgrade.
/// </summary>
internal sealed class WebSocketSlots
{
    private readonly SocketOptions _options;
    private readonly RequestMetrics _metrics;
    private readonly UpDownCounter<int> _sockets;
    private int _open;

    public WebSocketSlots(IOptions<SocketOptions> options, RequestMetrics metrics, IMeterFactory meterFactory)
    {
        _options = options.Value;
        _metrics = metrics;
        _sockets = meterFactory.Create(RequestMetrics.MeterName)
            .CreateUpDownCounter<int>("websocket_connections", description: "Open WebSockets, /ws/predict and /ws/webcam together.");
    }

    /// <summary>Null when a slot was taken (give it back with <see cref="Release"/>); otherwise the 503 to answer.</summary>
    public ProblemHttpResult? TryTake(HttpContext context)
    {
        if (Interlocked.Increment(ref _open) > _options.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            _metrics.ConnectionRejected("websocket");
            return Problems.TooManyConnections(context, _options.RetryAfterSeconds, $"The server has its maximum of {_options.MaxConnections} WebSockets open.");
        }

        _sockets.Add(1);
        return null;
    }

    public void Release()
    {
        Interlocked.Decrement(ref _open);
        _sockets.Add(-1);
    }
}
