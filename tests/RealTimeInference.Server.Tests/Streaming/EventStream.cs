using System.Net.ServerSentEvents;
using System.Text.Json;

namespace RealTimeInference.Server.Tests.Streaming;

/// <summary>
/// A test's SSE subscription to /stream-predictions. The server sends its headers with the opening
/// heartbeat comment, after it registered the subscription: once open, what is published arrives.
/// </summary>
internal sealed class EventStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private HttpResponseMessage? _response;
    private IAsyncEnumerator<SseItem<string>>? _events;

    public static async Task<EventStream> OpenAsync(HttpClient client, string path = "/stream-predictions", string? lastEventId = null)
    {
        var stream = new EventStream();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        stream._response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stream._timeout.Token);
        stream._response.EnsureSuccessStatusCode();
        var body = await stream._response.Content.ReadAsStreamAsync(stream._timeout.Token);
        stream._events = SseParser.Create(body).EnumerateAsync(stream._timeout.Token).GetAsyncEnumerator(stream._timeout.Token);
        return stream;
    }

    /// <summary>The next event of any type (comments, such as heartbeats, are not events).</summary>
    public async Task<SseItem<string>> NextEventAsync()
    {
        Assert.True(await _events!.MoveNextAsync(), "The stream ended.");
        return _events.Current;
    }

    /// <summary>The next prediction event, as its id and JSON.</summary>
    public async Task<(long Id, JsonElement Data)> NextPredictionAsync()
    {
        var item = await NextEventAsync();
        Assert.Equal("message", item.EventType);
        return (long.Parse(item.EventId!, System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(item.Data).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        await _timeout.CancelAsync();
        if (_events is not null)
        {
            try
            {
                await _events.DisposeAsync();
            }
            catch (OperationCanceledException)
            {
                // Cancelled above on purpose.
            }
        }

        _response?.Dispose();
        _timeout.Dispose();
    }
}
