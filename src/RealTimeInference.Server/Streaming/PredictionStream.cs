using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// One subscriber's <c>text/event-stream</c>, written as the SSE specification has it: a comment
/// (<c>: heartbeat</c>) when the stream opens, so headers go out and the client knows it is
/// subscribed, and whenever it has been idle for <see cref="StreamingOptions.HeartbeatInterval"/>;
/// the replayed backlog, then live events, each with its <c>id</c>, written as the hub encoded them;
/// a <c>dropped</c> event before the next one whenever events were lost. A subscriber woken by an
/// event waits <see cref="StreamingOptions.CoalesceInterval"/> and sends what else arrived in the
/// same socket write.
/// </summary>
internal sealed class PredictionStream(Subscription subscription, StreamingOptions options, TimeProvider time) : IResult, IEndpointMetadataProvider
{
    public const string DroppedEventType = "dropped";
    public const string ContentType = "text/event-stream";

    /// <summary>Most bytes of events written before a flush.</summary>
    private const int FlushAtBytes = 16 * 1024;

    private static ReadOnlySpan<byte> Heartbeat => ": heartbeat\n\n"u8;

    public async Task ExecuteAsync(HttpContext context)
    {
        using var _ = subscription;
        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        // nginx and other proxies would otherwise hold events back to fill their buffers.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await WriteAsync(context.Response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The subscriber went away.
        }
    }

    /// <summary>Writes the stream until the subscriber leaves (<paramref name="cancellationToken"/>) or the hub stops.</summary>
    public async Task WriteAsync(PipeWriter body, CancellationToken cancellationToken)
    {
        // Each heartbeat's timer starts before the write it follows is flushed: one timer at a
        // time, and a clock that moves once the client has read never outruns it.
        var heartbeat = Task.Delay(options.HeartbeatInterval, time, cancellationToken);
        body.Write(Heartbeat);
        if (subscription.Missed > 0)
        {
            WriteDropped(body, subscription.Missed, StreamMetrics.ReplayExpired);
        }

        foreach (var item in subscription.Backlog)
        {
            body.Write(item.Frame);
        }

        subscription.Backlog.Clear();
        if ((await body.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
        {
            return;
        }

        var reader = subscription.Reader;
        Task<bool>? waiting = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (subscription.TakeDropped() is > 0 and var dropped)
            {
                WriteDropped(body, dropped, StreamMetrics.SlowSubscriber);
            }

            // What is queued goes out in one write, a bounded one: the flush waits for the client,
            // so a subscriber that reads slowly holds no more than its buffer and one write.
            var written = 0;
            while (written < FlushAtBytes && reader.TryRead(out var next))
            {
                body.Write(next.Frame);
                written += next.Frame.Length;
            }

            if (written > 0)
            {
                if ((await body.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
                {
                    return;
                }

                if (written >= FlushAtBytes)
                {
                    // A backlog: the rest goes out at once, not one coalescing interval per write.
                    continue;
                }
            }

            waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            await Task.WhenAny(waiting, heartbeat).ConfigureAwait(false);
            if (waiting.IsCompleted)
            {
                if (!waiting.IsCompletedSuccessfully || !waiting.Result)
                {
                    return;
                }

                waiting = null;
                if (options.CoalesceInterval > TimeSpan.Zero)
                {
                    // Subscribers woken by the same event would all send at once; 0.5x to 1.5x the
                    // interval spreads their sends out. Cancellation ends the loop at its next check.
                    var delay = options.CoalesceInterval * (0.5 + Random.Shared.NextDouble());
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
            else if (heartbeat.IsCompletedSuccessfully)
            {
                heartbeat = Task.Delay(options.HeartbeatInterval, time, cancellationToken);
                body.Write(Heartbeat);
                if ((await body.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
                {
                    return;
                }
            }
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));

    private static void WriteDropped(PipeWriter body, long count, string reason) =>
        body.Write(PredictionHub.NamedFrame(DroppedEventType, JsonSerializer.Serialize(new DroppedEvent(count, reason), StreamJsonContext.Default.DroppedEvent)));
}
