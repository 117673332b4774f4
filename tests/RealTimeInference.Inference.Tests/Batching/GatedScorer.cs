using RealTimeInference.Inference.Batching;

namespace RealTimeInference.Inference.Tests.Batching;

/// <summary>
/// Scores each row as the sum of its features and records every batch. While closed, a run
/// blocks after it starts, so tests can queue work behind it deterministically.
/// </summary>
internal sealed class GatedScorer(int featureCount = 2) : IBatchScorer
{
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly SemaphoreSlim _started = new(0);

    public int FeatureCount { get; } = featureCount;

    public List<int> BatchRows { get; } = [];

    /// <summary>Every row's score, in the order the runs computed them.</summary>
    public List<float> Scored { get; } = [];

    public Exception? FailWith { get; set; }

    /// <summary>Runs inside each model run, e.g. to move a fake clock as if the run took time.</summary>
    public Action? DuringRun { get; set; }

    public void Close() => _gate.Reset();

    public void Open() => _gate.Set();

    /// <summary>Waits until a run has started (and is parked at the gate, if closed).</summary>
    public Task WaitForRunAsync() => _started.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(
        t => Assert.True(t.Result, "The batcher never started a run."), TaskScheduler.Default);

    public void Score(Memory<float> features, int rows, Span<float> scores)
    {
        lock (BatchRows)
        {
            BatchRows.Add(rows);
        }

        _started.Release();
        _gate.Wait(TimeSpan.FromSeconds(10));
        DuringRun?.Invoke();
        if (FailWith is { } failure)
        {
            throw failure;
        }

        var span = features.Span;
        for (var row = 0; row < rows; row++)
        {
            var sum = 0f;
            for (var f = 0; f < FeatureCount; f++)
            {
                sum += span[(row * FeatureCount) + f];
            }

            scores[row] = sum;
            lock (BatchRows)
            {
                Scored.Add(sum);
            }
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        _started.Dispose();
    }
}
