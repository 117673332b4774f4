using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using RealTimeInference.Inference;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.RateLimiting;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Wafers;

/// <summary>
/// <c>WS /ws/webcam</c>, the seed's contract: each text message <c>{"frame": base64}</c> gets
/// <c>{defect_detected, confidence, timestamp}</c> plus the class detail. A bad frame gets an
/// error message (<see cref="SocketError"/>, as on <c>/ws/predict</c>) and the socket stays open
/// for the next one. <c>?station=</c> names the inspection station (default: the client), whose camera
/// is watched (<see cref="CameraWatch"/>): a run of frames that are no wafer, or the same frame again, raises a <c>camera</c> alert.
/// </summary>
internal sealed partial class WebcamSocket(
    WaferPredictor predictor,
    WebSocketSlots slots,
    ClientLimiter limiter,
    SocketMemory memory,
    RequestMetrics metrics,
    AlertBook alerts,
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

        var named = context.Request.Query["station"].ToString();
        var station = named.Length > 0 ? named : ClientIdentity.Of(context);
        if (named.Length > 0 && !StationName().IsMatch(named))
        {
            return Problems.Invalid(RequestErrors.One("station", "station must be 1..64 letters, digits, '.', '_', '-' or ':'."), "Invalid station");
        }

        if (slots.TryTake(context) is { } refused)
        {
            return refused;
        }

        try
        {
            var camera = new CameraWatch(alerts, station, predictor.Options.CameraFaultFrames, time);
            return await RunAsync(context, await context.WebSockets.AcceptWebSocketAsync(), camera);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task<Results<EmptyHttpResult, ProblemHttpResult>> RunAsync(HttpContext context, WebSocket accepted, CameraWatch camera)
    {
        using var socket = accepted;
        LogOpened(logger, context.Connection.Id);
        var frames = 0;
        var buffer = new FrameBuffer(memory, predictor.Options.MaxFrameMessageBytes);
        var aborted = context.RequestAborted;
        var client = ClientIdentity.Of(context);
        try
        {
            while (socket.State == WebSocketState.Open && await ReceiveAsync(socket, buffer, aborted) is var frame and not Frame.Closed)
            {
                if (frame == Frame.OutOfMemory)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, SocketMemory.CloseReason, aborted);
                    break;
                }

                frames++;
                var started = time.GetTimestamp();
                // Each frame counts against the client's rate, as an HTTP request does.
                var answer = !limiter.TryAcquire(context, out var retryAfter) ? RateLimited(retryAfter, started) : frame switch
                {
                    Frame.Text => await ScoreAsync(buffer.Message, started, client, $"{context.TraceIdentifier}:{frames}", camera, aborted),
                    Frame.TooLarge => Error(RequestErrors.TooLarge("$", $"The message exceeds the {predictor.Options.MaxFrameMessageBytes}-byte limit of {Endpoint}."), started),
                    _ => Error(RequestErrors.One("$", "Send text messages of JSON {\"frame\": base64}."), started),
                };
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
    /// Reads one whole message into <paramref name="buffer"/>. Past the limit the rest is read and
    /// dropped, so an oversized frame is answered and the socket lives on.
    /// </summary>
    private static async Task<Frame> ReceiveAsync(WebSocket socket, FrameBuffer buffer, CancellationToken cancellationToken)
    {
        buffer.Clear();
        var tooLarge = false;
        byte[]? discard = null;
        try
        {
            while (true)
            {
                var full = buffer.IsFull;
                Memory<byte> into;
                if (full)
                {
                    into = discard ??= ArrayPool<byte>.Shared.Rent(16 * 1024);
                }
                else if (buffer.Room(64 * 1024) is { } room)
                {
                    into = room;
                }
                else
                {
                    return Frame.OutOfMemory;
                }

                var result = await socket.ReceiveAsync(into, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return Frame.Closed;
                }

                if (full)
                {
                    tooLarge |= result.Count > 0;
                }
                else
                {
                    buffer.Advance(result.Count);
                }

                if (result.EndOfMessage)
                {
                    return tooLarge ? Frame.TooLarge : result.MessageType == WebSocketMessageType.Text ? Frame.Text : Frame.Binary;
                }
            }
        }
        finally
        {
            if (discard is not null)
            {
                ArrayPool<byte>.Shared.Return(discard);
            }
        }
    }

    private async Task<byte[]> ScoreAsync(
        ReadOnlyMemory<byte> json, long started, string client, string requestId, CameraWatch camera, CancellationToken cancellationToken)
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
                [image.AsMemory(0, length)],
                [FrameField],
                Deadline.For(LatencyClass.DefectDetection, started, time) with { Client = client },
                new PredictionOrigin(PredictionSource.WebSocket, requestId, started),
                cancellationToken);
            var latency = time.GetElapsedTime(started);
            metrics.RecordRequest(Endpoint, LatencyClass.DefectDetection, scoring.Outcome, latency);
            if (scoring.IsOk || scoring.Outcome == Outcome.NotAWafer)
            {
                camera.Observe(image.AsSpan(0, length), refused: !scoring.IsOk);
            }

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
        return Serialize(SocketError.RateLimited(retryAfter, time.GetUtcNow()));
    }

    private static byte[] Serialize(SocketError error) => JsonSerializer.SerializeToUtf8Bytes(error, TransportJsonContext.Default.SocketError);

    private enum Frame
    {
        /// <summary>The client closed the socket.</summary>
        Closed,
        Text,
        Binary,
        /// <summary>Longer than <see cref="WaferOptions.MaxFrameMessageBytes"/>: the rest was dropped.</summary>
        TooLarge,
        /// <summary>Holding the message would pass the sockets' memory budget.</summary>
        OutOfMemory,
    }

    /// <summary>
    /// A socket's frame buffer: a pooled array that grows by doubling up to the frame limit, each
    /// growth taken (the array's whole length) from the sockets' memory budget first.
    /// </summary>
    private sealed class FrameBuffer(SocketMemory memory, int limit) : IDisposable
    {
        private byte[] _array = [];

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Message => _array.AsMemory(0, Length);

        public bool IsFull => Length >= limit;

        public void Clear() => Length = 0;

        /// <summary>Room for up to <paramref name="bytes"/> more (less at the limit); null when growing would pass the budget.</summary>
        public Memory<byte>? Room(int bytes)
        {
            var wanted = (int)Math.Min(limit, (long)Length + bytes);
            if (wanted > _array.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, Math.Max(wanted, 2 * _array.Length)));
                if (!memory.TryReserve(larger.Length))
                {
                    ArrayPool<byte>.Shared.Return(larger);
                    return null;
                }

                _array.AsSpan(0, Length).CopyTo(larger);
                Dispose();
                _array = larger;
            }

            return _array.AsMemory(Length, wanted - Length);
        }

        public void Advance(int count) => Length += count;

        /// <summary>Gives the array back to the pool and its bytes back to the budget.</summary>
        public void Dispose()
        {
            if (_array.Length > 0)
            {
                memory.Release(_array.Length);
                ArrayPool<byte>.Shared.Return(_array);
                _array = [];
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex StationName();

    [LoggerMessage(EventId = LogEvents.WebcamOpened, Level = LogLevel.Information, Message = "Webcam socket {Connection} opened")]
    private static partial void LogOpened(ILogger logger, string connection);

    [LoggerMessage(EventId = LogEvents.WebcamClosed, Level = LogLevel.Information, Message = "Webcam socket {Connection} closed after {Frames} frames")]
    private static partial void LogClosed(ILogger logger, string connection, int frames);
}
