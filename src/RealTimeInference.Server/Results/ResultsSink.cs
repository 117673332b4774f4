using Microsoft.Extensions.Options;
using RealTimeInference.Results.Storage;
using RealTimeInference.Server.Predictions;

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
        var receipt = scored.Origin.Receipt;
        if (!_enabled)
        {
            receipt?.Resolve(true);
            return;
        }

        if ((receipt is null ? queue.Rent(batch.Count) : queue.Rent(batch.Count, scored.Origin.RequestId, receipt)) is not { } chunk)
        {
            receipt?.Resolve(false);
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
}
