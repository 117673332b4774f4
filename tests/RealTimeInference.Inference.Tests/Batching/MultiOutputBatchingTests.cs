using Microsoft.Extensions.Logging.Abstractions;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Tests.Batching;

public sealed class MultiOutputBatchingTests
{
    /// <summary>Three scores a row (row feature, ×10, ×100); the first run waits at a gate so the next requests queue behind it.</summary>
    private sealed class ThreeClassScorer : IBatchScorer, IDisposable
    {
        private readonly ManualResetEventSlim _gate = new(initialState: false);
        private readonly SemaphoreSlim _started = new(0);

        public int FeatureCount => 1;

        public int OutputCount => 3;

        public List<int> BatchRows { get; } = [];

        public void Open() => _gate.Set();

        public Task<bool> WaitForRunAsync() => _started.WaitAsync(TimeSpan.FromSeconds(10));

        public void Score(Memory<float> features, int rows, Span<float> scores)
        {
            lock (BatchRows)
            {
                BatchRows.Add(rows);
            }

            _started.Release();
            _gate.Wait(TimeSpan.FromSeconds(10));
            for (var row = 0; row < rows; row++)
            {
                var x = features.Span[row];
                scores[row * 3] = x;
                scores[(row * 3) + 1] = x * 10;
                scores[(row * 3) + 2] = x * 100;
            }
        }

        public void Dispose()
        {
            _gate.Dispose();
            _started.Dispose();
        }
    }

    [Fact]
    public async Task Batch_OfMultiOutputRequests_GivesEachCallerItsOwnRowsOfScores()
    {
        using var meters = new TestMeters();
        using var scorer = new ThreeClassScorer();
        await using var batcher = new MicroBatcher("m", scorer, 64, 1024, TimeSpan.Zero, TimeProvider.System, new InferenceMetrics(meters), NullLogger.Instance);
        var first = new float[3];
        var second = new float[6];
        var third = new float[3];

        var running = batcher.ScoreAsync(new float[] { 1 }, first);
        Assert.True(await scorer.WaitForRunAsync());
        var queuedA = batcher.ScoreAsync(new float[] { 2, 3 }, second);
        var queuedB = batcher.ScoreAsync(new float[] { 4 }, third);
        scorer.Open();
        var results = new[] { await running, await queuedA, await queuedB };

        Assert.All(results, r => Assert.True(r.IsOk));
        Assert.Equal([1, 3], scorer.BatchRows);
        Assert.Equal([1f, 10, 100], first);
        Assert.Equal([2f, 20, 200, 3, 30, 300], second);
        Assert.Equal([4f, 40, 400], third);
    }

    [Fact]
    public async Task Score_WithScoresNotAMultipleOfTheOutputs_Throws()
    {
        using var meters = new TestMeters();
        using var scorer = new ThreeClassScorer();
        await using var batcher = new MicroBatcher("m", scorer, 64, 1024, TimeSpan.Zero, TimeProvider.System, new InferenceMetrics(meters), NullLogger.Instance);

        Assert.Throws<ArgumentException>(() => batcher.ScoreAsync(new float[] { 1, 2 }, new float[4]));
    }
}
