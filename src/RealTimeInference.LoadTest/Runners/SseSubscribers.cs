using System.Buffers.Text;
using System.Net.ServerSentEvents;
using RealTimeInference.LoadTest.Http;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// SSE subscribers on /stream-predictions held open during a run, each reading every event (without
/// keeping it) and adding up the counts of <c>dropped</c> events the server sends when it falls behind.
/// Each reads on its own thread with blocking reads, so parsing their events never queues behind (or
/// ahead of) the load generator's requests on the thread pool.
/// </summary>
internal sealed class SseSubscribers : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _readers = [];
    private readonly List<Stream> _bodies = [];
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
            var thread = new Thread(() => subscribers.Read(stream, ready)) { IsBackground = true, Name = $"sse-subscriber-{i}" };
            subscribers._readers.Add(thread);
            thread.Start();
        }

        // Each subscriber is registered once the server's headers arrive (sent with its opening heartbeat).
        await Task.WhenAll(opened).WaitAsync(cancellationToken).ConfigureAwait(false);
        return subscribers;
    }

    /// <summary>Closes the subscriptions; returns the events they received, the drops they were told of, and the subscriptions that failed.</summary>
    public async Task<(long Events, long Dropped, long Failed)> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            lock (_bodies)
            {
                // Unblocks the readers' blocking reads.
                foreach (var body in _bodies)
                {
                    body.Dispose();
                }
            }

            await Task.Run(() => _readers.ForEach(reader => reader.Join())).ConfigureAwait(false);
        }

        return (Interlocked.Read(ref _events), Interlocked.Read(ref _dropped), Interlocked.Read(ref _failed));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
    }

    private void Read(Uri uri, TaskCompletionSource ready)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            response.EnsureSuccessStatusCode();
            ready.TrySetResult();
            var body = response.Content.ReadAsStream(_stop.Token);
            lock (_bodies)
            {
                _bodies.Add(body);
            }

            // Only dropped events are parsed; the rest are counted unread.
            var parser = SseParser.Create(body, static (type, data) =>
                type == "dropped" && data.IndexOf("\"dropped\":"u8) is var at and >= 0
                    && Utf8Parser.TryParse(data[(at + 10)..], out long count, out _) ? count : 0);
            foreach (var item in parser.Enumerate())
            {
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
        catch (Exception) when (_stop.IsCancellationRequested)
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
