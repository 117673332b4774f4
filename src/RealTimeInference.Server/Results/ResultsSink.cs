using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;
using RealTimeInference.Server.Readings;

namespace RealTimeInference.Server.Results;

/// <summary>
/// Copies every scored reading into the results queue: never waits; a full queue drops the batch's
/// rows, counted. A batch with a receipt (a broker message) carries its message id and receipt to
/// the writer; with no store its receipt says stored at once, with a full queue not stored.
/// </summary>
internal sealed class ResultsSink(ResultsQueue queue, IOptions<ResultsOptions> options, TimeProvider time) : IPredictionSink
{
    private readonly bool _enabled = options.Value.Store != ResultsStoreKind.None;

    public void Publish(in ScoredBatch scored)
    {
        var batch = scored.Batch;
        if (Rent(scored.Origin, batch.Count, run: null) is not { } chunk)
        {
            return;
        }

        var now = time.GetUtcNow();
        var origin = scored.Origin;
        var source = origin.Source.Name();
        var latencyMs = scored.Latency.TotalMilliseconds;
        var readings = batch.Readings;
        var scores = batch.Scores.Span;
        for (var i = 0; i < batch.Count; i++)
        {
            var reading = readings[i];
            chunk.Records[i] = new PredictionRecord(
                reading.Timestamp, now, source, reading.ToolId, reading.SensorId, scored.Model.Name, scored.Model.Version,
                reading.Temperature, reading.Pressure, reading.FlowRate, scores[i], scored.IsAnomaly(scores[i]), latencyMs, scored.Class, origin.RequestId);
        }

        queue.Enqueue(chunk);
    }

    /// <summary>Each reading with its context and its sensors' values as a JSON object.</summary>
    public void Publish(in ScoredReadings scored)
    {
        foreach (var run in scored.Runs)
        {
            Keep(scored, run);
        }
    }

    private void Keep(in ScoredReadings scored, ScoredRun run)
    {
        var batch = scored.Batch;
        var rows = run.Rows;
        // A message's readings are scored by one model run or several: each run's rows are kept once
        // under the message id and the run's first reading, the same on every delivery of the message.
        if (Rent(scored.Origin, rows.Length, run: rows[0]) is not { } chunk)
        {
            return;
        }

        var now = time.GetUtcNow();
        var origin = scored.Origin;
        var source = origin.Source.Name();
        var latencyMs = scored.Latency.TotalMilliseconds;
        var readings = batch.Readings;
        var scores = batch.Scores;
        _json ??= new ArrayBufferWriter<byte>(1024);
        _writer ??= new Utf8JsonWriter(_json);
        for (var i = 0; i < rows.Length; i++)
        {
            var reading = readings[rows[i]];
            var score = scores[rows[i]];
            chunk.Records[i] = new PredictionRecord(
                reading.Timestamp, now, source, reading.Context.ToolId, null, run.Model.Name, run.Model.Version,
                null, null, null, score, run.IsAnomaly(score), latencyMs, scored.Class, origin.RequestId)
            {
                Context = reading.Context,
                Values = ValuesJson(batch, reading),
            };
        }

        queue.Enqueue(chunk);
    }

    /// <summary>
    /// Room for <paramref name="rows"/> records, kept once under the message id (with the <paramref name="run"/>'s
    /// first reading, for a run of readings with context) when the origin holds a receipt; null, with the
    /// receipt resolved, when there is no store or no room.
    /// </summary>
    private RecordChunk? Rent(in PredictionOrigin origin, int rows, int? run)
    {
        var receipt = origin.Receipt;
        if (!_enabled)
        {
            receipt?.Resolve(true);
            return null;
        }

        var chunk = receipt is null ? queue.Rent(rows) : queue.Rent(rows, run is { } first ? $"{origin.RequestId}@{first}" : origin.RequestId, receipt);
        if (chunk is null)
        {
            receipt?.Resolve(false);
        }

        return chunk;
    }

    /// <summary>Per thread: the sinks are called on many requests' threads at once.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _json;

    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    private static string ValuesJson(ReadingBatch batch, in ContextReading reading)
    {
        var (json, writer) = (_json!, _writer!);
        json.ResetWrittenCount();
        writer.Reset(json);
        writer.WriteStartObject();
        var names = batch.Names(reading);
        var values = batch.Values(reading);
        for (var i = 0; i < names.Length; i++)
        {
            writer.WriteNumber(names[i], values[i]);
        }

        writer.WriteEndObject();
        writer.Flush();
        return Encoding.UTF8.GetString(json.WrittenSpan);
    }
}
