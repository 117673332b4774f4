using System.Collections.Concurrent;
using System.Net.WebSockets;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Closed loop over WebSockets: each connection keeps up to <c>pipeline</c> messages in flight and
/// sends the next as soon as an answer frees a slot. Answers come in order, so each is timed from
/// the send of the oldest unanswered message. A binary or JSON answer counts as 200; an
/// <c>{"error":"overloaded"}</c> answer as 503, any other error as 400. The upgrade request carries the <c>--header</c>s.
/// </summary>
internal sealed class SocketRunner(TimeProvider time, IReadOnlyList<(string Name, string Value)> headers)
{
    private const int ReceiveBufferBytes = 64 * 1024;

    public async Task<RunMeasurement> RunAsync(
        RequestSource source, int connections, int pipeline, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var recorder = new RunRecorder(time);
        var uri = new UriBuilder(source.Uri) { Scheme = source.Uri.Scheme == "https" ? "wss" : "ws" }.Uri;
        var sockets = new ClientWebSocket[connections];
        try
        {
            for (var i = 0; i < sockets.Length; i++)
            {
                sockets[i] = new ClientWebSocket();
                foreach (var (name, value) in headers)
                {
                    sockets[i].Options.SetRequestHeader(name, value);
                }

                await sockets[i].ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            }

            var measureStart = time.Add(time.GetTimestamp(), warmup);
            var measureEnd = time.Add(measureStart, duration);
            await Task.WhenAll(sockets.Select(socket =>
                Task.Run(() => DriveAsync(socket, source, pipeline, recorder, measureStart, measureEnd, cancellationToken), cancellationToken)))
                .ConfigureAwait(false);
            return recorder.Complete(measureStart, duration, offeredRps: null, scheduled: null, capDelayed: 0, unsent: 0);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    private async Task DriveAsync(
        ClientWebSocket socket, RequestSource source, int pipeline, RunRecorder recorder, long measureStart, long measureEnd, CancellationToken cancellationToken)
    {
        var type = source.Transport == Transport.WebSocketBinary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
        using var slots = new SemaphoreSlim(pipeline);
        var sentAt = new ConcurrentQueue<long>();
        var receiving = ReceiveAsync(socket, sentAt, slots, recorder, measureStart, cancellationToken);
        while (true)
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            var now = time.GetTimestamp();
            if (now >= measureEnd)
            {
                break;
            }

            sentAt.Enqueue(now);
            await socket.SendAsync(source.NextBody(), type, true, cancellationToken).ConfigureAwait(false);
        }

        // The server answers what is in flight, then closes: the receive loop ends on that close.
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
        await receiving.ConfigureAwait(false);
    }

    private async Task ReceiveAsync(
        ClientWebSocket socket, ConcurrentQueue<long> sentAt, SemaphoreSlim slots, RunRecorder recorder, long measureStart, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReceiveBufferBytes];
        while (true)
        {
            ValueWebSocketReceiveResult result;
            var first = true;
            var status = 200;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (first && result.MessageType == WebSocketMessageType.Text && buffer.AsSpan(0, result.Count).StartsWith("{\"error\""u8))
                {
                    status = buffer.AsSpan(0, result.Count).IndexOf("\"overloaded\""u8) >= 0 ? 503 : 400;
                }

                first = false;
            }
            while (!result.EndOfMessage);

            var end = time.GetTimestamp();
            if (sentAt.TryDequeue(out var start) && start >= measureStart)
            {
                recorder.Record(new RequestOutcome(OutcomeKind.Response, status), start, end);
            }

            slots.Release();
        }
    }
}
