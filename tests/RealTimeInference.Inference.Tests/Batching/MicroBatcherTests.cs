using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Tests.Batching;

public sealed class MicroBatcherTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestMeters _meters = new();
    private readonly GatedScorer _scorer = new();
    private MicroBatcher? _batcher;

    private MicroBatcher Create(int maxBatchRows = 64, int capacityRows = 1024, TimeSpan maxQueueDelay = default) =>
        _batcher = new MicroBatcher(
            "m", _scorer, maxBatchRows, capacityRows, maxQueueDelay, _time, new InferenceMetrics(_meters), NullLogger.Instance);

    private static (float[] Features, float[] Scores) Rows(params float[][] rows) =>
        (rows.SelectMany(r => r).ToArray(), new float[rows.Length]);

    [Fact]
    public async Task Score_WhenIdle_RunsAtOnceWithoutWaitingForABatch()
    {
        var batcher = Create(maxBatchRows: 64);
        var (features, scores) = Rows([1, 2]);

        // The fake clock never moves: an artificial wait would hang here.
        var result = await batcher.ScoreAsync(features, scores).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Outcome.Ok, result.Outcome);
        Assert.Equal(1, result.BatchRequests);
        Assert.Equal(3f, scores[0]);
        Assert.Equal(TimeSpan.Zero, result.QueueTime);
    }

    [Fact]
    public async Task Score_WhileModelBusy_CoalescesQueuedRequestsIntoOneRun()
    {
        var batcher = Create();
        _scorer.Close();
        var first = batcher.ScoreAsync(new float[] { 0, 1 }, new float[1]).AsTask();
        await _scorer.WaitForRunAsync();

        var queued = Enumerable.Range(1, 5)
            .Select(i => (Features: new float[] { i, i }, Scores: new float[1]))
            .ToArray();
        var tasks = queued.Select(q => batcher.ScoreAsync(q.Features, q.Scores).AsTask()).ToArray();
        _time.Advance(TimeSpan.FromMilliseconds(7));
        _scorer.Open();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(Outcome.Ok, (await first).Outcome);
        Assert.Equal([1, 5], _scorer.BatchRows);
        Assert.All(results, r => Assert.Equal(5, r.BatchRequests));
        Assert.All(results, r => Assert.Equal(TimeSpan.FromMilliseconds(7), r.QueueTime));
        for (var i = 0; i < queued.Length; i++)
        {
            Assert.Equal(2f * (i + 1), queued[i].Scores[0]);
        }
    }

    [Fact]
    public async Task Score_WithMoreQueuedThanMaxBatch_SplitsIntoBatchesOfAtMostMax()
    {
        var batcher = Create(maxBatchRows: 2);
        _scorer.Close();
        var first = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await _scorer.WaitForRunAsync();

        var tasks = Enumerable.Range(0, 5).Select(_ => batcher.ScoreAsync(new float[2], new float[1]).AsTask()).ToArray();
        _scorer.Open();
        await Task.WhenAll(tasks.Append(first));

        Assert.Equal([1, 2, 2, 1], _scorer.BatchRows);
    }

    [Fact]
    public async Task Score_RequestLargerThanMaxBatch_RunsWholeInOneRun()
    {
        var batcher = Create(maxBatchRows: 4);
        var result = await batcher.ScoreAsync(new float[20], new float[10]);

        Assert.Equal(Outcome.Ok, result.Outcome);
        Assert.Equal([10], _scorer.BatchRows);
    }

    [Fact]
    public async Task Score_WhenQueueFull_IsRejectedAndCounted()
    {
        var batcher = Create(capacityRows: 3);
        _scorer.Close();
        var running = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await _scorer.WaitForRunAsync();

        var admitted = batcher.ScoreAsync(new float[6], new float[3]).AsTask();
        var rejected = await batcher.ScoreAsync(new float[2], new float[1]);

        Assert.Equal(Outcome.QueueFull, rejected.Outcome);
        Assert.Equal(3, batcher.QueuedRows);
        _scorer.Open();
        Assert.Equal(Outcome.Ok, (await admitted).Outcome);
        Assert.Equal(Outcome.Ok, (await running).Outcome);
        Assert.Equal(1, _meters.Total("requests_total", ("model", "m"), ("outcome", "queue_full")));
        Assert.Equal(2, _meters.Total("requests_total", ("model", "m"), ("outcome", "ok")));
        Assert.Equal(0, batcher.QueuedRows);
    }

    [Fact]
    public async Task Score_CancelledWhileQueued_IsNotComputed()
    {
        var batcher = Create();
        _scorer.Close();
        var running = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await _scorer.WaitForRunAsync();

        using var cts = new CancellationTokenSource();
        var cancelled = batcher.ScoreAsync(new float[2], new float[1], cts.Token).AsTask();
        var kept = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await cts.CancelAsync();
        _scorer.Open();

        Assert.Equal(Outcome.Cancelled, (await cancelled).Outcome);
        Assert.Equal(Outcome.Ok, (await kept).Outcome);
        Assert.Equal([1, 1], _scorer.BatchRows);
        await running;
    }

    [Fact]
    public async Task Score_WhenModelThrows_FailsThatBatchAndKeepsServing()
    {
        var batcher = Create();
        _scorer.FailWith = new InvalidOperationException("boom");

        var failed = await batcher.ScoreAsync(new float[2], new float[1]);
        _scorer.FailWith = null;
        var next = await batcher.ScoreAsync(new float[] { 2, 3 }, new float[1]);

        Assert.Equal(Outcome.Failed, failed.Outcome);
        Assert.Equal("boom", failed.Error);
        Assert.Equal(Outcome.Ok, next.Outcome);
    }

    [Fact]
    public async Task Score_WithMaxQueueDelay_HoldsTheBatchOpenUntilTheDelay()
    {
        var time = new TimerSignallingTimeProvider();
        _batcher = new MicroBatcher(
            "m", _scorer, 64, 1024, TimeSpan.FromMilliseconds(5), time, new InferenceMetrics(_meters), NullLogger.Instance);
        var first = _batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        var second = _batcher.ScoreAsync(new float[2], new float[1]).AsTask();

        // The loop holds the batch on a timer; once it is armed, moving the clock past it releases the batch.
        await time.WaitForTimerAsync();
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(5));
        var results = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.All(results, r => Assert.Equal(2, r.BatchRequests));
        Assert.Equal([2], _scorer.BatchRows);
    }

    [Fact]
    public async Task Dispose_AnswersQueuedWorkThenRefusesNewWork()
    {
        var batcher = Create();
        _scorer.Close();
        var running = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await _scorer.WaitForRunAsync();
        var queued = batcher.ScoreAsync(new float[2], new float[1]).AsTask();

        var disposing = batcher.DisposeAsync().AsTask();
        var refused = await batcher.ScoreAsync(new float[2], new float[1]);
        _scorer.Open();
        await disposing;

        Assert.Equal(Outcome.Unavailable, refused.Outcome);
        Assert.Equal(Outcome.Ok, (await running).Outcome);
        Assert.Equal(Outcome.Ok, (await queued).Outcome);
    }

    [Fact]
    public async Task DispatchLoop_WhenAPartOutsideTheModelRunThrows_AnswersTheWorkInHandAndServesTheNext()
    {
        var batcher = Create();
        // A metrics listener that throws once: the loop counts work that expired in the queue, outside any model run.
        var thrown = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "dropped_total" && instrument.Meter.Scope == _meters)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (Interlocked.Increment(ref thrown) == 1)
            {
                throw new InvalidOperationException("listener fault");
            }
        });
        listener.Start();
        _scorer.Close();
        var running = batcher.ScoreAsync(new float[2], new float[1]).AsTask();
        await _scorer.WaitForRunAsync();
        var late = batcher.ScoreAsync(new float[2], new float[1], Deadline.For(LatencyClass.Emergency, _time.GetTimestamp(), _time)).AsTask();

        _time.Advance(TimeSpan.FromMilliseconds(200));
        _scorer.Open();
        var expired = await late.WaitAsync(TimeSpan.FromSeconds(10));
        var next = await batcher.ScoreAsync(new float[] { 2, 3 }, new float[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(Outcome.Ok, (await running).Outcome);
        Assert.Equal(1, thrown);
        Assert.Equal(Outcome.Failed, expired.Outcome);
        Assert.Contains("listener fault", expired.Error, StringComparison.Ordinal);
        Assert.Equal(Outcome.Ok, next.Outcome);
        Assert.Equal(5f, Assert.Single(_scorer.Scored.Skip(1)));
    }

    [Fact]
    public void Score_WithFeatureCountMismatch_Throws()
    {
        var batcher = Create();
        Assert.Throws<ArgumentException>(() => { _ = batcher.ScoreAsync(new float[3], new float[1]); });
    }

    public async ValueTask DisposeAsync()
    {
        _scorer.Open();
        if (_batcher is not null)
        {
            await _batcher.DisposeAsync();
        }

        _scorer.Dispose();
        _meters.Dispose();
    }
}
