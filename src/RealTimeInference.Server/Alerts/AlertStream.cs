using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Streaming;

namespace RealTimeInference.Server.Alerts;

/// <summary>
/// <c>GET /stream-alerts</c>: every alert change as an <c>event: alert</c> with its <c>id</c>
/// (<c>Last-Event-ID</c> resumes after it), a <c>: heartbeat</c> comment when the stream opens and
/// whenever it has been idle for Streaming:HeartbeatInterval; <c>tool_id</c> narrows it to one tool.
/// </summary>
internal sealed class AlertStream(AlertSubscription subscription, string? toolId, TimeSpan heartbeatInterval, TimeProvider time) : IResult
{
    public const string EventType = "alert";

    public async Task ExecuteAsync(HttpContext context)
    {
        using var _ = subscription;
        context.Response.ContentType = PredictionStream.ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var body = context.Response.BodyWriter;
        var aborted = context.RequestAborted;
        try
        {
            body.Write(": heartbeat\n\n"u8);
            foreach (var (id, change) in subscription.Backlog)
            {
                Write(body, id, change);
            }

            await body.FlushAsync(aborted);
            while (!aborted.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                var wait = subscription.Reader.WaitToReadAsync(idle.Token).AsTask();
                var heartbeat = Task.Delay(heartbeatInterval, time, idle.Token);
                if (await Task.WhenAny(wait, heartbeat) == heartbeat)
                {
                    body.Write(": heartbeat\n\n"u8);
                }
                else if (!await wait)
                {
                    return;
                }

                await idle.CancelAsync();
                while (subscription.Reader.TryRead(out var item))
                {
                    Write(body, item.Id, item.Change);
                }

                await body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The subscriber went away.
        }
    }

    private void Write(PipeWriter body, long id, AlertChange change)
    {
        if (toolId is not null && change.Alert.ToolId != toolId)
        {
            return;
        }

        var data = JsonSerializer.Serialize(new AlertChangeItem(change.Event.Kind, AlertItem.From(change.Alert)), AlertJsonContext.Default.AlertChangeItem);
        body.Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"id: {id}\nevent: {EventType}\ndata: {data}\n\n")));
    }
}
