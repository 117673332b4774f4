using System.Buffers;

namespace RealTimeInference.Inference.Batching;

/// <summary>One model run over a batch: gathers the callers' rows into one pooled buffer, scores, scatters the scores back.</summary>
internal static class BatchRun
{
    /// <summary>Scores every work item of <paramref name="batch"/> (<paramref name="rows"/> rows in all); returns how long the model took.</summary>
    public static TimeSpan Score(IBatchScorer scorer, List<BatchWork> batch, int rows, TimeProvider time)
    {
        var start = time.GetTimestamp();
        if (batch.Count == 1)
        {
            // A lone caller's buffers are the model's input and output as they are.
            scorer.Score(batch[0].Features, rows, batch[0].Scores.Span);
            return time.GetElapsedTime(start);
        }

        var width = scorer.FeatureCount;
        var outputs = scorer.OutputCount;
        var features = ArrayPool<float>.Shared.Rent(rows * width);
        var scores = ArrayPool<float>.Shared.Rent(rows * outputs);
        try
        {
            var offset = 0;
            foreach (var work in batch)
            {
                work.Features.Span.CopyTo(features.AsSpan(offset * width));
                offset += work.Rows;
            }

            scorer.Score(features.AsMemory(0, rows * width), rows, scores.AsSpan(0, rows * outputs));
            offset = 0;
            foreach (var work in batch)
            {
                scores.AsSpan(offset * outputs, work.Rows * outputs).CopyTo(work.Scores.Span);
                offset += work.Rows;
            }

            return time.GetElapsedTime(start);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(features);
            ArrayPool<float>.Shared.Return(scores);
        }
    }
}
