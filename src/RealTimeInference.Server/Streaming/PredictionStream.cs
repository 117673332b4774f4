using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// One SSE subscriber's events: the replayed backlog, then live events; a <c>dropped</c> event
/// before the next one whenever events were lost; a <c>heartbeat</c> event when the stream opens
/// (so headers go out and a client knows it is subscribed) and then whenever it has been idle
/// (the SSE writer of ASP.NET Core cannot emit comment lines; EventSource ignores unknown event types).
/// </summary>
internal sealed class PredictionStream(IOptions<StreamingOptions> options, TimeProvider time)
{
    public const string DroppedEventType = "dropped";
    public const string HeartbeatEventType = "heartbeat";

    private readonly TimeSpan _heartbeat = options.Value.HeartbeatInterval;
    private readonly TimeSpan _coalesce = options.Value.CoalesceInterval;

    public async IAsyncEnumerable<SseItem<string>> ReadAsync(Subscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = subscription;
        yield return Heartbeat;
        if (subscription.Missed > 0)
        {
            yield return Dropped(subscription.Missed, StreamMetrics.ReplayExpired);
        }

        foreach (var item in subscription.Backlog)
        {
            yield return Item(item);
        }

        subscription.Backlog.Clear();
        var reader = subscription.Reader;
        Task<bool>? waiting = null;
        Task? heartbeat = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (subscription.TakeDropped() is > 0 and var dropped)
            {
                yield return Dropped(dropped, StreamMetrics.SlowSubscriber);
            }

            if (reader.TryRead(out var next))
            {
            yield return Item(next);
                continue;
            }

            waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            // One timer at a time, not one per wait.
            heartbeat ??= Task.Delay(_heartbeat, time, cancellationToken);
            await Task.WhenAny(waiting, heartbeat).ConfigureAwait(false);
            if (waiting.IsCompleted)
            {
                if (!waiting.IsCompletedSuccessfully || !waiting.Result)
                {
                    yield break;
                }

                waiting = null;
                if (_coalesce > TimeSpan.Zero)
                {
                    // Subscribers woken by the same event would all send at once; 0.5x to 1.5x the
                    // interval spreads their sends out. Cancellation ends the loop at its next check.
                    var delay = _coalesce * (0.5 + Random.Shared.NextDouble());
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
            else if (heartbeat.IsCompletedSuccessfully)
            {
                heartbeat = null;
                yield return Heartbeat;
            }
        }
    }

    private static SseItem<string> Heartbeat => new("{}", HeartbeatEventType);

    private static SseItem<string> Item(HubEvent item) =>
        new(item.Json) { EventId = item.Id.ToString(CultureInfo.InvariantCulture) };

    private static SseItem<string> Dropped(long count, string reason) =>
        new(JsonSerializer.Serialize(new DroppedEvent(count, reason), StreamJsonContext.Default.DroppedEvent), DroppedEventType);
}
