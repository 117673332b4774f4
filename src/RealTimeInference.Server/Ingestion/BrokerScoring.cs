using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Readings;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Ingestion;

/// <summary>What became of a broker message: its outcome, what was wrong with it, or its answer and whether its results are stored.</summary>
/// <param name="Outcome">The one outcome vocabulary's verdict.</param>
/// <param name="Errors">Every field at fault of a message refused as invalid or too large.</param>
/// <param name="Answer">The result to publish (JSON), for <see cref="Outcome.Ok"/>.</param>
/// <param name="ToolId">The first reading's tool, for the result's routing.</param>
/// <param name="Subject">The first reading's sensor (the seed's shape) or chamber (readings with context): the second level of the result's topic.</param>
/// <param name="Stored">Completes true once the readings' results are in the results store (or there is none), false when they could not be kept.</param>
/// <param name="Readings">Readings in the message.</param>
internal sealed record MessageResult(Outcome Outcome, RequestErrors? Errors, byte[]? Answer, string? ToolId, string? Subject, Task<bool> Stored, int Readings)
{
    public static MessageResult Refused(RequestErrors errors) => new(errors.Outcome, errors, null, null, null, Task.FromResult(false), 0);

    /// <summary>Where the refusal is: the fields at fault and why, for a dead-letter header.</summary>
    public string Why => Errors is null ? Outcome.Label() : string.Join("; ", Errors.Errors.Select(e => $"{e.Field}: {e.Message}"));
}

/// <summary>
/// One broker message -> readings, in either shape: with context (<c>/readings</c>'s contract, routed
/// by <see cref="ReadingScoring"/>) or the seed's (<c>/predict</c> and <c>/predict-batch</c>, <see cref="SensorScoring"/>),
/// told apart by <see cref="ReadingJson.IsContextShape"/> -> at most Ingestion:MaxInFlightReadings with the
/// models (<see cref="ReadingBudget"/>), with the same admission, deadlines and sinks as HTTP -> the
/// answer to publish. Results reach the store with a receipt, so the transport acknowledges the
/// message only once they are kept. Knows no broker.
/// </summary>
internal sealed class BrokerScoring(
    SensorScoring scoring, ReadingScoring readings, IOptions<IngestionOptions> options, IOptions<PredictionOptions> predictions, IOptions<ReadingOptions> readingOptions, TimeProvider time)
{
    private readonly ReadingBudget _budget = new(options.Value.MaxInFlightReadings);
    private readonly LatencyClass _defaultClass = LatencyClasses.TryParse(options.Value.DefaultClass, out var c) ? c : LatencyClass.ProcessControl;

    public int MaxMessageBytes => options.Value.MaxMessageBytes;

    /// <summary>
    /// A message's id: the one it carries, else a digest of its body, so a redelivered message
    /// without one is still recognised as the same.
    /// </summary>
    public static string MessageId(string? carried, ReadOnlySpan<byte> body) =>
        !string.IsNullOrEmpty(carried) ? carried : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));

    /// <param name="body">The message.</param>
    /// <param name="source">The broker it came from.</param>
    /// <param name="messageId">Its id (<see cref="MessageId"/>).</param>
    /// <param name="latencyClass">Its <c>x-latency-class</c>, if any.</param>
    /// <param name="deadlineMs">Its <c>x-deadline-ms</c>, if any.</param>
    /// <param name="topic">What its MQTT topic names, for readings that name none: the tool, and the sensor (seed shape) or chamber (with context).</param>
    /// <param name="cancellationToken">Stopping.</param>
    public async Task<MessageResult> ScoreAsync(
        ReadOnlyMemory<byte> body,
        PredictionSource source,
        string messageId,
        string? latencyClass,
        string? deadlineMs,
        (string ToolId, string Subject)? topic,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (body.Length > MaxMessageBytes)
        {
            return MessageResult.Refused(RequestErrors.TooLarge("$", $"The message is {body.Length} bytes; at most {MaxMessageBytes} are accepted (Ingestion:MaxMessageBytes)."));
        }

        if (Deadline(latencyClass, deadlineMs, started).Errors is { } headerErrors)
        {
            return MessageResult.Refused(headerErrors);
        }

        if (ReadingJson.IsContextShape(body.Span))
        {
            return await ScoreWithContextAsync(body, source, messageId, latencyClass, deadlineMs, topic, started, cancellationToken).ConfigureAwait(false);
        }

        var sequence = new ReadOnlySequence<byte>(body);
        var isArray = body.Span.TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
        var maxReadings = predictions.Value.MaxBatchReadings;
        var batch = new SensorBatch(isArray ? SensorReadingJson.CapacityFor(body.Length, maxReadings) : 1, time.GetUtcNow());
        try
        {
            if ((isArray ? SensorReadingJson.ParseMany(sequence, batch, maxReadings) : SensorReadingJson.ParseOne(sequence, batch)) is { } bad)
            {
                return MessageResult.Refused(bad);
            }

            if (topic is var (toolId, sensorId))
            {
                batch.NameUnnamed(toolId, sensorId);
            }

            var stored = new StoreReceipt();
            var origin = new PredictionOrigin(source, messageId, started) { Receipt = stored };
            SensorScore score;
            using (await _budget.AcquireAsync(batch.Count, cancellationToken).ConfigureAwait(false))
            {
                // The deadline runs from here: a message waiting for the budget is, in effect, still queued in the broker.
                var due = Deadline(latencyClass, deadlineMs, time.GetTimestamp()).Deadline;
                score = await scoring.ScoreAsync(batch, due with { Client = source.Name() }, origin, safeDefault: false, cancellationToken).ConfigureAwait(false);
            }

            if (!score.IsOk)
            {
                return new MessageResult(score.Outcome, null, null, null, null, Task.FromResult(false), batch.Count);
            }

            var latency = time.GetElapsedTime(started).TotalMilliseconds;
            var first = batch.Readings[0];
            var answer = isArray
                ? JsonSerializer.SerializeToUtf8Bytes(
                    new MessageBatchPrediction(batch.Scores, batch.Count, latency / batch.Count, latency, Anomalies(batch, score), score.ModelName, score.ModelVersion, score.Fallback, messageId),
                    IngestionJsonContext.Default.MessageBatchPrediction)
                : JsonSerializer.SerializeToUtf8Bytes(
                    new MessagePrediction(batch.Scores.Span[0], score.IsAnomaly(batch.Scores.Span[0]), first.Timestamp, latency, score.ModelName, score.ModelVersion, score.Fallback, messageId),
                    IngestionJsonContext.Default.MessagePrediction);
            return new MessageResult(Outcome.Ok, null, answer, first.ToolId, first.SensorId, stored.Task, batch.Count);
        }
        finally
        {
            batch.Dispose();
        }
    }

    /// <summary>A message of readings with context: routed, scored and answered as <c>/readings</c> does; a context no rule routes is refused as invalid is.</summary>
    private async Task<MessageResult> ScoreWithContextAsync(
        ReadOnlyMemory<byte> body,
        PredictionSource source,
        string messageId,
        string? latencyClass,
        string? deadlineMs,
        (string ToolId, string Chamber)? topic,
        long started,
        CancellationToken cancellationToken)
    {
        var maxReadings = readingOptions.Value.MaxReadings;
        using var batch = new ReadingBatch(ReadingJson.CapacityFor(body.Length, Math.Min(maxReadings, 1024)), time.GetUtcNow());
        var given = topic is var (tool, chamber) ? new ReadingContext(tool, chamber) : null;
        if (ReadingJson.Parse(new ReadOnlySequence<byte>(body), batch, maxReadings, out var isArray, given) is { } bad)
        {
            return MessageResult.Refused(bad);
        }

        var stored = new StoreReceipt();
        var origin = new PredictionOrigin(source, messageId, started) { Receipt = stored };
        ReadingScore score;
        using (await _budget.AcquireAsync(batch.Count, cancellationToken).ConfigureAwait(false))
        {
            var due = Deadline(latencyClass, deadlineMs, time.GetTimestamp()).Deadline;
            score = await readings.ScoreAsync(batch, isArray, due with { Client = source.Name() }, origin, cancellationToken).ConfigureAwait(false);
        }

        if (score.Errors is { } errors)
        {
            return MessageResult.Refused(errors);
        }

        if (!score.IsOk)
        {
            return new MessageResult(score.Outcome, null, null, null, null, Task.FromResult(false), batch.Count);
        }

        var latency = time.GetElapsedTime(started).TotalMilliseconds;
        var answer = isArray
            ? JsonSerializer.SerializeToUtf8Bytes(ReadingAnswers.Many(batch, latency) with { MessageId = messageId }, ReadingJsonContext.Default.ReadingsResponse)
            : JsonSerializer.SerializeToUtf8Bytes(ReadingAnswers.One(batch, latency) with { MessageId = messageId }, ReadingJsonContext.Default.ReadingResponse);
        var first = batch.Readings[0].Context;
        return new MessageResult(Outcome.Ok, null, answer, first.ToolId, first.ChamberId, stored.Task, batch.Count);
    }

    private static List<int> Anomalies(SensorBatch batch, SensorScore score)
    {
        var anomalies = new List<int>();
        var scores = batch.Scores.Span;
        for (var i = 0; i < scores.Length; i++)
        {
            if (score.IsAnomaly(scores[i]))
            {
                anomalies.Add(i);
            }
        }

        return anomalies;
    }

    /// <summary>The message's deadline from its <c>x-latency-class</c> and <c>x-deadline-ms</c>, read as the HTTP headers are.</summary>
    private (Deadline Deadline, RequestErrors? Errors) Deadline(string? latencyClass, string? deadlineMs, long started)
    {
        RequestErrors? errors = null;
        var named = _defaultClass;
        if (latencyClass is not null && !LatencyClasses.TryParse(latencyClass, out named))
        {
            RequestErrors.Add(ref errors, "x-latency-class", $"x-latency-class must be one of {string.Join(", ", LatencyClasses.All.Select(c => c.Name()))}.");
        }

        var deadline = Inference.Scheduling.Deadline.For(named, started, time);
        if (deadlineMs is not null)
        {
            if (!double.TryParse(deadlineMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) || !(ms is > 0 and <= RequestDeadline.MaxDeadlineMs))
            {
                RequestErrors.Add(ref errors, "x-deadline-ms", $"x-deadline-ms must be a number of milliseconds within (0, {RequestDeadline.MaxDeadlineMs:0}].");
            }
            else
            {
                var within = Inference.Scheduling.Deadline.Within(TimeSpan.FromMilliseconds(ms), started, time);
                deadline = deadline with { Class = latencyClass is not null ? named : within.Class, Due = within.Due };
            }
        }

        return (deadline, errors);
    }
}
