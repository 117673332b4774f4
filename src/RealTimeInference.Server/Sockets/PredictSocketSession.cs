using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Readings;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Sockets;

/// <summary>What a <c>/ws/readings</c> connection scores readings with context by, and how many a message may hold.</summary>
internal sealed record SocketReadings(ReadingScoring Scoring, int MaxReadings);

/// <summary>
/// One <c>/ws/predict</c> connection (the seed's readings, JSON or binary frames) or <c>/ws/readings</c>
/// connection (readings with context, JSON, routed as <c>/readings</c> routes them). The receive loop parses
/// each message and hands it to the models' batchers at once; a bounded channel carries the pending
/// answers, in order, to the send loop. When <see cref="SocketOptions.MaxInFlightPerConnection"/> answers
/// are pending the receive loop stops reading, so a fast client is held back by TCP instead of buffered.
/// </summary>
internal sealed class PredictSocketSession(
    WebSocket socket,
    SensorScoring scoring,
    SocketReadings? readings,
    RequestMetrics metrics,
    SocketOptions options,
    PredictionOptions predictions,
    LatencyClass latencyClass,
    string client,
    string socketId,
    Func<TimeSpan?> rateLimit,
    SocketMemory memory,
    TimeProvider time)
{
    public const string Endpoint = "/ws/predict";

    public const string ReadingsEndpoint = "/ws/readings";

    private const int InitialBufferBytes = 16 * 1024;

    private readonly string _endpoint = readings is null ? Endpoint : ReadingsEndpoint;
    private readonly ArrayBufferWriter<byte> _reply = new(4096);
    private long _messages;
    private Utf8JsonWriter? _json;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.MaxInFlightPerConnection)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sending = SendLoopAsync(pending.Reader, stop);
        try
        {
            await ReceiveLoopAsync(pending.Writer, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away or the server is stopping.
        }
        finally
        {
            pending.Writer.TryComplete();
        }

        await sending.ConfigureAwait(false);
        // Whatever the send loop did not get to still holds rented buffers.
        while (pending.Reader.TryRead(out var left))
        {
            await left.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReceiveLoopAsync(ChannelWriter<Pending> pending, CancellationToken cancellationToken)
    {
        // One byte over the limit tells an oversized message from one exactly at it. The buffer
        // starts small and grows to what the connection's messages need, up to that, each growth
        // taken from the sockets' shared memory budget.
        var limit = options.MaxMessageBytes + 1;
        if (Rent(Math.Min(limit, InitialBufferBytes)) is not { } buffer)
        {
            await pending.WriteAsync(Pending.OutOfMemory, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult received;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (Rent(Math.Min(limit, buffer.Length * 2)) is not { } larger)
                        {
                            await pending.WriteAsync(Pending.OutOfMemory, cancellationToken).ConfigureAwait(false);
                            return;
                        }

                        buffer.AsSpan(0, length).CopyTo(larger);
                        Return(buffer);
                        buffer = larger;
                    }

                    received = await socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(limit, buffer.Length) - length), cancellationToken).ConfigureAwait(false);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    length += received.Count;
                    if (length > options.MaxMessageBytes)
                    {
                        await pending.WriteAsync(Pending.TooBig, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                }
                while (!received.EndOfMessage);

                // Each message counts against the client's rate, as an HTTP request does.
                var item = rateLimit() is { } retryAfter ? Pending.RateLimited(retryAfter, time.GetTimestamp())
                    : received.MessageType == WebSocketMessageType.Binary ? StartBinary(buffer.AsSpan(0, length))
                    : readings is not null ? StartReadings(new ReadOnlySequence<byte>(buffer, 0, length), readings)
                    : StartJson(new ReadOnlySequence<byte>(buffer, 0, length));
                await pending.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Return(buffer);
        }
    }

    /// <summary>A pooled buffer of at least <paramref name="size"/> bytes, its whole length taken from the budget; null when spent.</summary>
    private byte[]? Rent(int size)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        if (memory.TryReserve(buffer.Length))
        {
            return buffer;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return null;
    }

    private void Return(byte[] buffer)
    {
        memory.Release(buffer.Length);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Parses before the next receive reuses the buffer: the readings are copied out, the bytes are not kept.</summary>
    private Pending StartJson(ReadOnlySequence<byte> body)
    {
        var started = time.GetTimestamp();
        var trimmed = body.FirstSpan.TrimStart(" \t\r\n"u8);
        var array = trimmed.Length > 0 && trimmed[0] == (byte)'[';
        // No message can hold more readings than it has bytes for, which bounds the rental.
        var batch = new SensorBatch(array ? SensorReadingJson.CapacityFor(body.Length, predictions.MaxBatchReadings) : 1, time.GetUtcNow());
        var errors = array ? SensorReadingJson.ParseMany(body, batch, predictions.MaxBatchReadings) : SensorReadingJson.ParseOne(body, batch);
        return Start(array ? PendingKind.Array : PendingKind.Single, batch, errors, started);
    }

    /// <summary>Readings with context: parsed before the buffer is reused, then routed and scored.</summary>
    private Pending StartReadings(ReadOnlySequence<byte> body, SocketReadings socketReadings)
    {
        var started = time.GetTimestamp();
        var batch = new ReadingBatch(ReadingJson.CapacityFor(body.Length, Math.Min(socketReadings.MaxReadings, 1024)), time.GetUtcNow());
        if (ReadingJson.Parse(body, batch, socketReadings.MaxReadings, out var isArray) is { } errors)
        {
            batch.Dispose();
            return new Pending(PendingKind.Single, null, default, errors, started);
        }

        var deadline = Deadline.For(latencyClass, started, time) with { Client = client };
        var origin = new PredictionOrigin(PredictionSource.WebSocket, $"{socketId}:{++_messages}", started);
        return new Pending(isArray ? PendingKind.Array : PendingKind.Single, batch, socketReadings.Scoring.ScoreAsync(batch, isArray, deadline, origin, CancellationToken.None), started);
    }

    private Pending StartBinary(ReadOnlySpan<byte> message)
    {
        var started = time.GetTimestamp();
        if (readings is not null)
        {
            return Start(PendingKind.Binary, null, RequestErrors.One("$", $"Binary frames are {Endpoint}'s; send readings with context here as JSON text."), started);
        }

        if (BinaryFrame.ReadHeader(message, predictions.MaxBatchReadings, out var rows) is { } badHeader)
        {
            return Start(PendingKind.Binary, null, badHeader, started);
        }

        var batch = new SensorBatch(rows, time.GetUtcNow());
        return Start(PendingKind.Binary, batch, BinaryFrame.ReadRows(message, batch), started);
    }

    private Pending Start(PendingKind kind, SensorBatch? batch, RequestErrors? errors, long started)
    {
        if (errors is not null)
        {
            return new Pending(kind, batch, default, errors, started);
        }

        var deadline = Deadline.For(latencyClass, started, time) with { Client = client };
        // Streams carry no fallback marker, so they get no made-up safe default either.
        // Each message is a request of its own: the upgrade request's id and the message's number.
        var origin = new PredictionOrigin(PredictionSource.WebSocket, $"{socketId}:{++_messages}", started);
        var run = scoring.ScoreAsync(batch!, deadline, origin, safeDefault: false, CancellationToken.None);
        return new Pending(kind, batch, run, null, started);
    }

    private async Task SendLoopAsync(ChannelReader<Pending> pending, CancellationTokenSource stop)
    {
        var cancellationToken = stop.Token;
        try
        {
            while (await pending.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (pending.TryRead(out var item))
                {
                    await using (item.ConfigureAwait(false))
                    {
                        if (item.Kind is PendingKind.TooBig or PendingKind.OutOfMemory)
                        {
                            await socket.CloseOutputAsync(
                                WebSocketCloseStatus.MessageTooBig,
                                item.Kind == PendingKind.TooBig ? $"Messages are limited to {options.MaxMessageBytes} bytes." : SocketMemory.CloseReason,
                                cancellationToken).ConfigureAwait(false);
                            return;
                        }

                        await AnswerAsync(item, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (socket.State == WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away.
        }
        finally
        {
            // A receive loop waiting for room must not wait on a send loop that has ended.
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask AnswerAsync(Pending item, CancellationToken cancellationToken)
    {
        if (item.Kind == PendingKind.RateLimited)
        {
            metrics.RecordRequest(_endpoint, latencyClass, Outcome.RateLimited, time.GetElapsedTime(item.Started));
            await SendJsonAsync(SocketError.RateLimited(item.RetryAfter, time.GetUtcNow()), TransportJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (item.Errors is { } errors)
        {
            metrics.RecordRequest(_endpoint, latencyClass, errors.Outcome, time.GetElapsedTime(item.Started));
            await SendJsonAsync(SocketError.For(errors, time.GetUtcNow()), TransportJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (item.Readings is { } readingBatch)
        {
            await AnswerReadingsAsync(item, readingBatch, cancellationToken).ConfigureAwait(false);
            return;
        }

        var score = await item.ScoreAsync().ConfigureAwait(false);
        metrics.RecordRequest(_endpoint, latencyClass, score.Outcome, time.GetElapsedTime(item.Started));
        if (!score.IsOk)
        {
            await SendJsonAsync(EngineError(score.Outcome, scoring.ModelName, score.Result), TransportJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
            return;
        }

        var batch = item.Batch!;
        var scores = batch.Scores.Span;
        switch (item.Kind)
        {
            case PendingKind.Binary:
                _reply.ResetWrittenCount();
                var length = BinaryFrame.Write(scores, _reply.GetSpan(BinaryFrame.HeaderBytes + (scores.Length * sizeof(float))));
                _reply.Advance(length);
                await socket.SendAsync(_reply.WrittenMemory, WebSocketMessageType.Binary, true, cancellationToken).ConfigureAwait(false);
                break;
            case PendingKind.Single:
                await SendJsonAsync(
                    new SocketPrediction(scores[0], score.IsAnomaly(scores[0]), batch.Readings[0].Timestamp),
                    SocketJsonContext.Default.SocketPrediction,
                    cancellationToken).ConfigureAwait(false);
                break;
            default:
                var anomalies = new List<int>();
                for (var i = 0; i < scores.Length; i++)
                {
                    if (score.IsAnomaly(scores[i]))
                    {
                        anomalies.Add(i);
                    }
                }

                await SendJsonAsync(
                    new SocketBatchPrediction(batch.Scores, batch.Count, anomalies, batch.Received),
                    SocketJsonContext.Default.SocketBatchPrediction,
                    cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask AnswerReadingsAsync(Pending item, ReadingBatch batch, CancellationToken cancellationToken)
    {
        var score = await item.ScoreReadingsAsync().ConfigureAwait(false);
        var latency = time.GetElapsedTime(item.Started);
        metrics.RecordRequest(_endpoint, latencyClass, score.Outcome, latency);
        if (score.Errors is { } errors)
        {
            await SendJsonAsync(SocketError.For(errors, time.GetUtcNow()), TransportJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
        }
        else if (!score.IsOk)
        {
            await SendJsonAsync(EngineError(score.Outcome, score.Model ?? "", score.Result), TransportJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
        }
        else if (item.Kind == PendingKind.Array)
        {
            await SendJsonAsync(ReadingAnswers.Many(batch, latency.TotalMilliseconds), ReadingJsonContext.Default.ReadingsResponse, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await SendJsonAsync(ReadingAnswers.One(batch, latency.TotalMilliseconds), ReadingJsonContext.Default.ReadingResponse, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The socket error for a model run that did not answer, with its Retry-After when retrying may help.</summary>
    private SocketError EngineError(Outcome outcome, string model, ScoreResult result) => SocketError.For(
        outcome,
        outcome.Detail(model, result.Error),
        time.GetUtcNow(),
        retryAfterSeconds: OutcomeVocabulary.RetryAfterSeconds(result.RetryAfter, predictions.RetryAfterSeconds));

    private ValueTask SendJsonAsync<T>(T value, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        _reply.ResetWrittenCount();
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_reply);
        }
        else
        {
            _json.Reset(_reply);
        }

        JsonSerializer.Serialize(_json, value, type);
        _json.Flush();
        return socket.SendAsync(_reply.WrittenMemory, WebSocketMessageType.Text, true, cancellationToken);
    }

    private enum PendingKind
    {
        Single,
        Array,
        Binary,
        RateLimited,
        TooBig,
        OutOfMemory,
    }

    /// <summary>A message on its way: its readings, and the model run that scores them, or what was wrong with it.</summary>
    private sealed class Pending(PendingKind kind, SensorBatch? batch, ValueTask<SensorScore> scoring, RequestErrors? errors, long started)
        : IAsyncDisposable
    {
        private readonly ValueTask<ReadingScore> _readingScoring;
        private bool _awaited = errors is not null || batch is null;

        /// <summary>Readings with context on their way, and the runs that score them.</summary>
        public Pending(PendingKind kind, ReadingBatch readings, ValueTask<ReadingScore> scoring, long started)
            : this(kind, null, default, null, started) => (Readings, _readingScoring, _awaited) = (readings, scoring, false);

        public static Pending TooBig { get; } = new(PendingKind.TooBig, null, default, null, 0);

        public static Pending OutOfMemory { get; } = new(PendingKind.OutOfMemory, null, default, null, 0);

        /// <summary>When a message over the client's rate may be sent again.</summary>
        public TimeSpan RetryAfter { get; private init; }

        public static Pending RateLimited(TimeSpan retryAfter, long started) =>
            new(PendingKind.RateLimited, null, default, null, started) { RetryAfter = retryAfter };

        public PendingKind Kind { get; } = kind;

        public SensorBatch? Batch { get; } = batch;

        public ReadingBatch? Readings { get; }

        public RequestErrors? Errors { get; } = errors;

        public long Started { get; } = started;

        /// <summary>The model run's outcome; a ValueTask is awaited once, here or on dispose.</summary>
        public ValueTask<SensorScore> ScoreAsync()
        {
            _awaited = true;
            return scoring;
        }

        /// <summary>The runs' outcome for readings with context; awaited once, here or on dispose.</summary>
        public ValueTask<ReadingScore> ScoreReadingsAsync()
        {
            _awaited = true;
            return _readingScoring;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_awaited)
            {
                // The batcher may still be writing the scores of a run whose answer was never sent.
                _awaited = true;
                if (Readings is null)
                {
                    await scoring.ConfigureAwait(false);
                }
                else
                {
                    await _readingScoring.ConfigureAwait(false);
                }
            }

            Batch?.Dispose();
            Readings?.Dispose();
        }
    }
}
