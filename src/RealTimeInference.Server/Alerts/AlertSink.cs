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
        var verdicts = new Verdicts(readings.Length);
        for (var i = 0; i < readings.Length; i++)
        {
            verdicts.Add(new Verdict(readings[i].ToolId, null, readings[i].SensorId, scored.Model.Name, scores[i], scored.IsAnomaly(scores[i]), scored.Class, now));
        }

        verdicts.Observe(book);
    }

    /// <summary>A reading with context is its chamber's: the model judged the chamber as a whole, so the model is the alert's sensor.</summary>
    public void Publish(in ScoredReadings scored)
    {
        var now = time.GetUtcNow();
        var readings = scored.Batch.Readings;
        var scores = scored.Batch.Scores;
        var verdicts = new Verdicts(readings.Length);
        foreach (var run in scored.Runs)
        {
            var model = run.Model.Name;
            foreach (var row in run.Rows)
            {
                var context = readings[row].Context;
                var score = scores[row];
                verdicts.Add(new Verdict(context.ToolId, context.ChamberId, model, model, score, run.IsAnomaly(score), scored.Class, now));
            }
        }

        verdicts.Observe(book);
    }
}
