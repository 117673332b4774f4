using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Wafers;

/// <summary>
/// <c>WS /ws/webcam</c>, the seed's contract: each text message <c>{"frame": base64}</c> gets
/// <c>{defect_detected, confidence, timestamp}</c> plus the class detail. A bad frame gets an
/// error message (<see cref="SocketError"/>, as on <c>/ws/predict</c>) and the socket stays open
/// for the next one.
/// </summary>
internal sealed partial class WebcamSocket(
    WaferPredictor predictor,
    WebSocketSlots slots,
    ClientLimiter limiter,
    SocketMemory memory,
    RequestMetrics metrics,
    TimeProvider time,
    ILogger<WebcamSocket> logger)
{
    private const string Endpoint = "/ws/webcam";
    private const string FrameField = "frame";

    public async Task<Results<EmptyHttpResult, ProblemHttpResult>> RunAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem(
                "This endpoint speaks WebSocket: open it with ws:// and send {\"frame\": base64} messages.",
                statusCode: StatusCodes.Status400BadRequest,
                title: "WebSocket required");
        }

        if (slots.TryTake(context) is { } refused)
        {
            return refused;
        }

        try
        {
            return await RunAsync(context, await context.WebSockets.AcceptWebSocketAsync());
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task<Results<EmptyHttpResult, ProblemHttpResult>> RunAsync(HttpContext context, WebSocket accepted)
    {
        using var socket = accepted;
        LogOpened(logger, context.Connection.Id);
        var frames = 0;
        var buffer = new FrameBuffer(memory);
        var aborted = context.RequestAborted;
        try
        {
            while (socket.State == WebSocketState.Open && await ReceiveAsync(socket, buffer, aborted) is { } received)
            {
                if (received == OutOfMemory)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, SocketMemory.CloseReason, aborted);
                    break;
                }

                var message = buffer.Message;
                frames++;
                var started = time.GetTimestamp();
                // Each frame counts against the client's rate, as an HTTP request does.
                var answer = !limiter.TryAcquire(context, out var retryAfter) ? RateLimited(retryAfter, started)
                    : received == WebSocketMessageType.Text && message.WrittenCount <= predictor.Options.MaxFrameMessageBytes
                    ? await ScoreAsync(message.WrittenMemory, started, aborted)
                    : Error(
                        received == WebSocketMessageType.Text
                            ? RequestErrors.TooLarge("$", $"The message exceeds the {predictor.Options.MaxFrameMessageBytes}-byte limit of {Endpoint}.")
                            : RequestErrors.One("$", "Send text messages of JSON {\"frame\": base64}."),
                        started);
                await socket.SendAsync(answer, WebSocketMessageType.Text, endOfMessage: true, aborted);
            }

            if (socket.State == WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, aborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away mid-frame: nothing left to answer.
        }
        finally
        {
            buffer.Dispose();
        }

        LogClosed(logger, context.Connection.Id, frames);
        return TypedResults.Empty;
    }

    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/>, keeping at most the limit plus one byte
    /// (the rest is read and dropped, so an oversized frame is answered and the socket lives on).
    /// Null when the client closed; <see cref="OutOfMemory"/> when the sockets' memory budget is spent.
    /// </summary>
    private async Task<WebSocketMessageType?> ReceiveAsync(WebSocket socket, FrameBuffer buffer, CancellationToken cancellationToken)
    {
        var message = buffer.Message;
        message.ResetWrittenCount();
        var limit = predictor.Options.MaxFrameMessageBytes + 1;
        var discard = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var room = Math.Min(limit - message.WrittenCount, 64 * 1024);
                if (room > 0 && !buffer.TryMakeRoom(room))
                {
                    return OutOfMemory;
                }

                var result = await socket.ReceiveAsync(room > 0 ? message.GetMemory(room)[..room] : discard, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                if (room > 0)
                {
                    message.Advance(result.Count);
                }

                if (result.EndOfMessage)
                {
                    return result.MessageType;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(discard);
        }
    }

    private async Task<byte[]> ScoreAsync(ReadOnlyMemory<byte> json, long started, CancellationToken cancellationToken)
    {
        WebcamFrame? frame;
        try
        {
            frame = JsonSerializer.Deserialize(json.Span, WaferJsonContext.Default.WebcamFrame);
        }
        catch (JsonException ex)
        {
            return Error(RequestErrors.One("$", $"The message is not JSON {{\"frame\": base64}}: {ex.Message}"), started);
        }

        if (frame?.Frame is not { Length: > 0 } text)
        {
            return Error(RequestErrors.One(FrameField, "frame is required: a base64 PNG or JPEG."), started);
        }

        // Canvas clients send data URLs ("data:image/jpeg;base64,...").
        var payload = text.StartsWith("data:", StringComparison.Ordinal) && text.IndexOf(',', StringComparison.Ordinal) is var comma and > 0
            ? text.AsSpan(comma + 1)
            : text.AsSpan();
        var image = ArrayPool<byte>.Shared.Rent((payload.Length * 3 / 4) + 4);
        try
        {
            if (!Convert.TryFromBase64Chars(payload, image, out var length))
            {
                return Error(RequestErrors.One(FrameField, "frame is not valid base64."), started);
            }

            var scoring = await predictor.ScoreAsync(
                [image.AsMemory(0, length)], [FrameField], Deadline.For(LatencyClass.DefectDetection, started, time), cancellationToken);
            var latency = time.GetElapsedTime(started);
            metrics.RecordRequest(Endpoint, LatencyClass.DefectDetection, scoring.Outcome, latency);
            if (!scoring.IsOk)
            {
                return Serialize(scoring.Errors is { } errors
                    ? SocketError.For(errors, time.GetUtcNow())
                    : SocketError.For(
                        scoring.Outcome,
                        scoring.Outcome.Detail(predictor.Options.Model, scoring.Result.Error),
                        time.GetUtcNow(),
                        retryAfterSeconds: OutcomeVocabulary.RetryAfterSeconds(scoring.Result.RetryAfter, predictor.Options.RetryAfterSeconds)));
            }

            var verdict = scoring.Verdicts[0];
            return JsonSerializer.SerializeToUtf8Bytes(
                new WebcamVerdict(
                    verdict.DefectDetected, verdict.Confidence, time.GetUtcNow(), verdict.DefectType, verdict.ClassProbabilities,
                    latency.TotalMilliseconds, scoring.Model!.Name, scoring.Model.Version),
                WaferJsonContext.Default.WebcamVerdict);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(image);
        }
    }

    /// <summary>A frame refused before the model: counted, and answered with the fields at fault.</summary>
    private byte[] Error(RequestErrors errors, long started)
    {
        metrics.RecordRequest(Endpoint, LatencyClass.DefectDetection, errors.Outcome, time.GetElapsedTime(started));
        return Serialize(SocketError.For(errors, time.GetUtcNow()));
    }

    private byte[] RateLimited(TimeSpan retryAfter, long started)
    {
        metrics.RecordRequest(Endpoint, LatencyClass.DefectDetection, Outcome.RateLimited, time.GetElapsedTime(started));
        return Serialize(SocketError.For(
            Outcome.RateLimited, Outcome.RateLimited.Detail(), time.GetUtcNow(), retryAfterSeconds: OutcomeVocabulary.RetryAfterSeconds(retryAfter, 1)));
    }

    private static byte[] Serialize(SocketError error) => JsonSerializer.SerializeToUtf8Bytes(error, TransportJsonContext.Default.SocketError);

    /// <summary>Not a message type: the socket's message would pass the sockets' memory budget.</summary>
    private const WebSocketMessageType OutOfMemory = (WebSocketMessageType)(-1);

    /// <summary>A socket's frame buffer, whose every growth is taken from the sockets' memory budget first.</summary>
    private sealed class FrameBuffer(SocketMemory memory) : IDisposable
    {
        private long _held;

        public ArrayBufferWriter<byte> Message { get; } = new();

        /// <summary>Grows the buffer to take <paramref name="bytes"/> more, if the budget allows the growth.</summary>
        public bool TryMakeRoom(int bytes)
        {
            if (Message.FreeCapacity >= bytes)
            {
                return true;
            }

            // ArrayBufferWriter grows by at least its own size (doubling), or by what is asked.
            var grown = (long)Message.Capacity + Math.Max(bytes, Message.Capacity);
            if (!memory.TryReserve(grown - _held))
            {
                return false;
            }

            _held = grown;
            Message.GetMemory(bytes);
            return true;
        }

        public void Dispose() => memory.Release(_held);
    }

    [LoggerMessage(EventId = LogEvents.WebcamOpened, Level = LogLevel.Information, Message = "Webcam socket {Connection} opened")]
    private static partial void LogOpened(ILogger logger, string connection);

    [LoggerMessage(EventId = LogEvents.WebcamClosed, Level = LogLevel.Information, Message = "Webcam socket {Connection} closed after {Frames} frames")]
    private static partial void LogClosed(ILogger logger, string connection, int frames);
}
