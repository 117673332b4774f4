using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using RealTimeInference.Fab.Sensors;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Models;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Server.Observability;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Streaming;

/// <summary>
/// One <c>/ws/predict</c> connection. The receive loop parses each message and hands it to the
/// model's batcher at once; a bounded channel carries the pending answers, in order, to the send
/// loop. When <see cref="WebSocketPredictOptions.MaxInFlightPerConnection"/> answers are pending the
/// receive loop stops reading, so a fast client is held back by TCP instead of buffered.
/// </summary>
internal sealed class PredictSocketSession(
    WebSocket socket,
    SensorScorer scorer,
    PredictionHub hub,
    RequestMonitor monitor,
    ServerMetrics metrics,
    WebSocketPredictOptions options,
    int maxReadings,
    TimeProvider time)
{
    public const string Endpoint = "/ws/predict";

    private const int InitialBufferBytes = 16 * 1024;

    private readonly ArrayBufferWriter<byte> _reply = new(4096);
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
        // starts small and grows to what the connection's messages need, up to that.
        var limit = options.MaxMessageBytes + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, InitialBufferBytes));
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
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
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

                var item = received.MessageType == WebSocketMessageType.Binary
                    ? StartBinary(buffer.AsSpan(0, length))
                    : StartJson(new ReadOnlySequence<byte>(buffer, 0, length));
                await pending.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses before the next receive reuses the buffer: the rows are copied out, the bytes are not kept.</summary>
    private Pending StartJson(ReadOnlySequence<byte> body)
    {
        var started = time.GetTimestamp();
        var trimmed = body.FirstSpan.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && trimmed[0] == (byte)'[')
        {
            // No message can hold more readings than it has bytes for, which bounds the rental.
            var features = new PooledFloats((Math.Min(maxReadings, (int)(body.Length / SensorReadingJson.MinReadingBytes) + 1)) * SensorFeatures.Count);
            var error = SensorReadingJson.ParseMany(body, features.Memory.Span, maxReadings, out var count);
            return error is { } bad
                ? Pending.Failed(bad, features)
                : Score(PendingKind.Array, features, count, default, started);
        }

        var one = new PooledFloats(SensorFeatures.Count);
        var oneError = SensorReadingJson.ParseOne(body, one.Memory.Span, out var labels);
        return oneError is { } invalid ? Pending.Failed(invalid, one) : Score(PendingKind.Single, one, 1, labels, started);
    }

    private Pending StartBinary(ReadOnlySpan<byte> message)
    {
        var started = time.GetTimestamp();
        PooledFloats? features = null;
        var error = BinaryFrame.Read(message, SensorFeatures.Count, length => (features = new PooledFloats(length)).Memory, out _, out var rows);
        return error is { } bad ? Pending.Failed(bad, features) : Score(PendingKind.Binary, features!, rows, default, started);
    }

    private Pending Score(PendingKind kind, PooledFloats features, int rows, ReadingLabels labels, long started)
    {
        var scores = new PooledFloats(rows);
        var scoring = scorer.ScoreAsync(features.Slice(0, rows * SensorFeatures.Count), scores.Memory, started, CancellationToken.None);
        return new Pending(kind, features, scores, rows, labels, scoring, null, started);
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
                        if (item.Kind == PendingKind.TooBig)
                        {
                            await socket.CloseOutputAsync(
                                WebSocketCloseStatus.MessageTooBig,
                                $"Messages are limited to {options.MaxMessageBytes} bytes.",
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
        if (item.Error is { } error)
        {
            await SendJsonAsync(new SocketError("invalid_message", error.Field, error.Message), StreamJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
            return;
        }

        var (model, result) = await item.ResultAsync().ConfigureAwait(false);
        var latency = time.GetElapsedTime(item.Started);
        monitor.Record(latency, result.IsOk);
        metrics.RecordPrediction(Endpoint, scorer.LatencyClass, result.IsOk ? "ok" : SensorPredictor.Outcome(result.Status), latency);
        if (!result.IsOk || model is null)
        {
            await SendJsonAsync(Failure(result), StreamJsonContext.Default.SocketError, cancellationToken).ConfigureAwait(false);
            return;
        }

        var features = item.Features!.Memory.Span[..(item.Rows * SensorFeatures.Count)];
        var scores = item.Scores!.Memory.Span[..item.Rows];
        hub.Publish(PredictionSources.WebSocket, model, features, scores, item.Labels);
        switch (item.Kind)
        {
            case PendingKind.Binary:
                _reply.ResetWrittenCount();
                var length = BinaryFrame.Write(scores, _reply.GetSpan(BinaryFrame.HeaderBytes + (scores.Length * sizeof(float))));
                _reply.Advance(length);
                await socket.SendAsync(_reply.WrittenMemory, WebSocketMessageType.Binary, true, cancellationToken).ConfigureAwait(false);
                break;
            case PendingKind.Single:
                var score = scores[0];
                await SendJsonAsync(
                    new SocketPrediction(score, score >= model.Manifest.Threshold, item.Labels.Timestamp ?? Now()),
                    StreamJsonContext.Default.SocketPrediction,
                    cancellationToken).ConfigureAwait(false);
                break;
            default:
                var anomalies = new List<int>();
                for (var i = 0; i < scores.Length; i++)
                {
                    if (scores[i] >= model.Manifest.Threshold)
                    {
                        anomalies.Add(i);
                    }
                }

                await SendJsonAsync(
                    new SocketBatchPrediction(item.Scores.Memory[..item.Rows], item.Rows, anomalies, Now()),
                    StreamJsonContext.Default.SocketBatchPrediction,
                    cancellationToken).ConfigureAwait(false);
                break;
        }
    }

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

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static SocketError Failure(ScoreResult result) => result.Status switch
    {
        ScoreStatus.Rejected => new SocketError("overloaded", null, "The model's queue is full; send again later."),
        ScoreStatus.Stopped => new SocketError("model_unavailable", null, "The sensor model is not serving (not loaded, or the server is shutting down)."),
        _ => new SocketError("model_failed", null, result.Error ?? "The model run failed."),
    };

    private enum PendingKind
    {
        Single,
        Array,
        Binary,
        Invalid,
        TooBig,
    }

    /// <summary>A message on its way: its rented rows and scores, and the model run that fills them.</summary>
    private sealed class Pending(
        PendingKind kind,
        PooledFloats? features,
        PooledFloats? scores,
        int rows,
        ReadingLabels labels,
        ValueTask<(ServedModel? Model, ScoreResult Result)> scoring,
        FieldError? error,
        long started) : IAsyncDisposable
    {
        public static readonly Pending TooBig = new(PendingKind.TooBig, null, null, 0, default, default, null, 0);

        public PendingKind Kind { get; } = kind;

        public PooledFloats? Features { get; } = features;

        public PooledFloats? Scores { get; } = scores;

        public int Rows { get; } = rows;

        public ReadingLabels Labels { get; } = labels;

        private bool _awaited;

        public FieldError? Error { get; } = error;

        public long Started { get; } = started;

        public static Pending Failed(FieldError error, PooledFloats? features) =>
            new(PendingKind.Invalid, features, null, 0, default, default, error, 0);

        /// <summary>The model run's outcome; a ValueTask is awaited once, here or on dispose.</summary>
        public ValueTask<(ServedModel? Model, ScoreResult Result)> ResultAsync()
        {
            _awaited = true;
            return scoring;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_awaited && Kind is PendingKind.Single or PendingKind.Array or PendingKind.Binary)
            {
                // The batcher may still be writing the scores of a run whose answer was never sent.
                _awaited = true;
                await scoring.ConfigureAwait(false);
            }

            Features?.Dispose();
            Scores?.Dispose();
        }
    }
}
