using System.Buffers;
using RealTimeInference.Inference.Tensors;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// One model run over a batch: gathers the callers' rows into one input (each named tensor
/// concatenated along dimension 0), runs the model once, and gives each caller its own rows back.
/// </summary>
internal static class BatchRun
{
    /// <summary>Scores every work item of <paramref name="batch"/> (<paramref name="rows"/> rows in all); returns how long the model took.</summary>
    public static TimeSpan Score(IBatchScorer scorer, List<BatchWork> batch, int rows, TimeProvider time)
    {
        var start = time.GetTimestamp();
        if (batch[0].Inputs is not null)
        {
            RunTensors(scorer, batch, rows);
            return time.GetElapsedTime(start);
        }

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

    private static void RunTensors(IBatchScorer scorer, List<BatchWork> batch, int rows)
    {
        if (batch.Count == 1)
        {
            batch[0].Results = scorer.Run(batch[0].Inputs!, batch[0].OutputNames);
            return;
        }

        // Every output any caller asked for, once; each caller gets back only its own.
        var names = batch.SelectMany(w => w.OutputNames).Distinct(StringComparer.Ordinal).ToList();
        var outputs = scorer.Run(Tensor.Concatenate([.. batch.Select(w => w.Inputs!)]), names);
        var offset = 0;
        foreach (var work in batch)
        {
            work.Results = [.. work.OutputNames.Select(name => outputs[names.IndexOf(name)].Slice(offset, work.Rows, rows))];
            offset += work.Rows;
        }
    }
}
