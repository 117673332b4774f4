using RealTimeInference.Results.Alerts;
using RealTimeInference.Server.Predictions;

namespace RealTimeInference.Server.Alerts;

/// <summary>Feeds every scored reading to the alert rules, on the server's clock.</summary>
internal sealed class AlertSink(AlertBook book, TimeProvider time) : IPredictionSink
{
    public void Publish(in ScoredBatch scored)
    {
        var now = time.GetUtcNow();
        var readings = scored.Batch.Readings;
        var scores = scored.Batch.Scores.Span;
        for (var i = 0; i < readings.Length; i++)
        {
            book.Observe(readings[i].ToolId, readings[i].SensorId, scored.Model.Name, scores[i], scored.IsAnomaly(scores[i]), scored.Class, now);
        }
    }

    /// <summary>A reading with context is its chamber's: the model judged the chamber as a whole, so the model is the alert's sensor.</summary>
    public void Publish(in ScoredReadings scored)
    {
        var now = time.GetUtcNow();
        var readings = scored.Batch.Readings;
        var scores = scored.Batch.Scores;
        foreach (var row in scored.Rows)
        {
            var context = readings[row].Context;
            book.Observe(context.ToolId, context.ChamberId, scored.Model.Name, scored.Model.Name, scores[row], scored.IsAnomaly(scores[row]), scored.Class, now);
        }
    }
}
