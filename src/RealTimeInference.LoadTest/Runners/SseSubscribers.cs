using System.Buffers.Text;
using System.Net.ServerSentEvents;
using RealTimeInference.LoadTest.Http;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// SSE subscribers on /stream-predictions held open during a run, each reading every event (without
/// keeping it) and adding up the counts of <c>dropped</c> events the server sends when it falls behind.
/// </summary>
internal sealed class SseSubscribers : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _readers = [];
    private long _events;
    private long _dropped;
    private long _failed;

    private SseSubscribers(int count) => _client = LoadHttpClient.Create(count);

    public static async Task<SseSubscribers> OpenAsync(Uri stream, int count, CancellationToken cancellationToken)
    {
        var subscribers = new SseSubscribers(count);
        var opened = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            opened.Add(ready.Task);
            subscribers._readers.Add(subscribers.ReadAsync(stream, ready));
        }

        // Each subscriber is registered once the server's opening heartbeat arrives.
        await Task.WhenAll(opened).WaitAsync(cancellationToken).ConfigureAwait(false);
        return subscribers;
    }

    /// <summary>Closes the subscriptions; returns the events they received, the drops they were told of, and the subscriptions that failed.</summary>
    public async Task<(long Events, long Dropped, long Failed)> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_readers).ConfigureAwait(false);
        return (Interlocked.Read(ref _events), Interlocked.Read(ref _dropped), Interlocked.Read(ref _failed));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync(Uri uri, TaskCompletionSource ready)
    {
        try
        {
            using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, _stop.Token).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStreamAsync(_stop.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                // Only dropped events are parsed; the rest are counted unread.
                var parser = SseParser.Create(body, static (type, data) =>
                    type == "dropped" && data.IndexOf("\"dropped\":"u8) is var at and >= 0
                        && Utf8Parser.TryParse(data[(at + 10)..], out long count, out _) ? count : 0);
                await foreach (var item in parser.EnumerateAsync(_stop.Token).ConfigureAwait(false))
                {
                    ready.TrySetResult();
                    if (item.EventType == "message")
                    {
                        Interlocked.Increment(ref _events);
                    }
                    else if (item.Data > 0)
                    {
                        Interlocked.Add(ref _dropped, item.Data);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Closed on purpose.
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            ready.TrySetResult();
        }
    }
}
