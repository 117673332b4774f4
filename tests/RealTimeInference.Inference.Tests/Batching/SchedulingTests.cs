using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Monitoring;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Tests.Batching;

/// <summary>Latency classes, deadlines and admission policies of the batcher, driven by a fake clock.</summary>
public sealed class SchedulingTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestMeters _meters = new();
    private readonly GatedScorer _scorer = new(featureCount: 1);
    private MicroBatcher? _batcher;

    private MicroBatcher Create(int capacityRows = 1024, int maxBatchRows = 64, AdmissionSettings? admission = null) =>
        _batcher = new MicroBatcher(
            "m", _scorer, maxBatchRows, capacityRows, TimeSpan.Zero, _time, new InferenceMetrics(_meters), NullLogger.Instance, admission);

    private Deadline Due(LatencyClass latencyClass) => Deadline.For(latencyClass, _time.GetTimestamp(), _time);

    private static Task<ScoreResult> Score(MicroBatcher batcher, float value, Deadline deadline) =>
        batcher.ScoreAsync(new[] { value }, new float[1], deadline).AsTask();

    /// <summary>Starts a run and parks it at the closed gate, so what follows queues behind it.</summary>
    private async Task<Task<ScoreResult>> OccupyAsync(MicroBatcher batcher)
    {
        _scorer.Close();
        var running = Score(batcher, -1, Due(LatencyClass.YieldForecasting));
        await _scorer.WaitForRunAsync();
        return running;
    }

    private long Dropped(LatencyClass latencyClass, Outcome reason) =>
        _meters.Total("dropped_total", ("model", "m"), ("class", latencyClass.Name()), ("reason", reason.Label()));

    [Fact]
    public async Task Batches_FormEarliestDeadlineFirstAcrossClasses()
    {
        var batcher = Create(maxBatchRows: 1);
        var running = await OccupyAsync(batcher);

        var tasks = new[]
        {
            Score(batcher, 3, Due(LatencyClass.YieldForecasting)),
            Score(batcher, 2, Due(LatencyClass.DefectDetection)),
            Score(batcher, 1, Due(LatencyClass.ProcessControl)),
            Score(batcher, 0, Due(LatencyClass.Emergency)),
        };
        _scorer.Open();
        await Task.WhenAll(tasks.Append(running));

        Assert.Equal([-1, 0, 1, 2, 3], _scorer.Scored);
    }

    [Fact]
    public async Task Score_WhoseDeadlinePassesWhileQueued_IsAnsweredExpiredAndNotComputed()
    {
        var batcher = Create();
        var running = await OccupyAsync(batcher);
        var late = Score(batcher, 7, Deadline.Within(TimeSpan.FromMilliseconds(10), _time.GetTimestamp(), _time));
        var onTime = Score(batcher, 8, Due(LatencyClass.ProcessControl));

        _time.Advance(TimeSpan.FromMilliseconds(20));
        _scorer.Open();

        Assert.Equal(Outcome.DeadlineExpired, (await late).Outcome);
        Assert.Equal(Outcome.Ok, (await onTime).Outcome);
        Assert.DoesNotContain(7f, _scorer.Scored);
        Assert.Equal(1, Dropped(LatencyClass.Emergency, Outcome.DeadlineExpired));
        await running;
    }

    [Fact]
    public async Task Score_WithDeadlineAlreadyPassed_IsNotQueued()
    {
        var batcher = Create();

        var result = await batcher.ScoreAsync(new[] { 1f }, new float[1], new Deadline(LatencyClass.Emergency, _time.GetTimestamp()));

        Assert.Equal(Outcome.DeadlineExpired, result.Outcome);
        Assert.Empty(_scorer.Scored);
    }

    [Fact]
    public async Task Score_WhenPredictedWaitPassesTheDeadline_IsRejectedAtOnceWithRetryAfter()
    {
        var batcher = Create();
        // Every run takes 9 ms of the fake clock, so one row costs 9 ms; waits are predicted after 16 runs.
        _scorer.DuringRun = () => _time.Advance(TimeSpan.FromMilliseconds(9));
        for (var i = 0; i < 16; i++)
        {
            await Score(batcher, 0, Due(LatencyClass.Emergency));
            // That run's start signal, so the next wait sees the occupying run's own.
            await _scorer.WaitForRunAsync();
        }

        var running = await OccupyAsync(batcher);

        // 100 ms of budget covers 11 rows of 9 ms ahead; later emergency work cannot make it.
        var results = new List<Task<ScoreResult>>();
        for (var i = 0; i < 15; i++)
        {
            results.Add(Score(batcher, 1, Due(LatencyClass.Emergency)));
        }

        var rejected = results.Where(t => t.IsCompleted).Select(t => t.Result).ToArray();
        Assert.Equal(3, rejected.Length);
        Assert.All(rejected, r => Assert.Equal(Outcome.DeadlineUnmeetable, r.Outcome));
        // Retry-After: the 12 queued rows at 9 ms each.
        Assert.All(rejected, r => Assert.Equal(0.108, r.RetryAfter.TotalSeconds, 3));

        // Process-control work has 1 s: the same queue is no reason to refuse it.
        var patient = Score(batcher, 2, Due(LatencyClass.ProcessControl));
        Assert.False(patient.IsCompleted);
        _scorer.DuringRun = null;
        _scorer.Open();
        await Task.WhenAll(results.Append(patient).Append(running));
        Assert.Equal(Outcome.Ok, (await patient).Outcome);
    }

    [Fact]
    public async Task Score_BeforeTheModelsSpeedIsKnown_IsNotRejectedOnAPredictedWait()
    {
        var batcher = Create();
        // One slow first run (a JIT, a GC pause) is not yet a speed to predict from.
        _scorer.DuringRun = () => _time.Advance(TimeSpan.FromSeconds(1));
        await Score(batcher, 0, Due(LatencyClass.Emergency));
        await _scorer.WaitForRunAsync();
        _scorer.DuringRun = null;
        var running = await OccupyAsync(batcher);

        var queued = Enumerable.Range(0, 5).Select(i => Score(batcher, i, Due(LatencyClass.Emergency))).ToArray();

        Assert.All(queued, t => Assert.False(t.IsCompleted));
        _scorer.Open();
        Assert.All(await Task.WhenAll(queued), r => Assert.Equal(Outcome.Ok, r.Outcome));
        await running;
    }

    [Fact]
    public async Task ShedOldest_MakesRoomFromTheLeastUrgentClass_NeverFromMoreUrgentWork()
    {
        var batcher = Create(capacityRows: 2, maxBatchRows: 1, admission: new AdmissionSettings(AdmissionPolicy.ShedOldest));
        var running = await OccupyAsync(batcher);
        var yieldA = Score(batcher, 10, Due(LatencyClass.YieldForecasting));
        var yieldB = Score(batcher, 11, Due(LatencyClass.YieldForecasting));

        var emergency = Score(batcher, 1, Due(LatencyClass.Emergency));
        Assert.Equal(new ScoreResult(Outcome.ShedOldest), await yieldA with { RetryAfter = default });
        var control = Score(batcher, 2, Due(LatencyClass.ProcessControl));
        Assert.Equal(Outcome.ShedOldest, (await yieldB).Outcome);

        // Only emergency and process-control work is queued now: a yield request may shed neither.
        var refused = await Score(batcher, 12, Due(LatencyClass.YieldForecasting));
        Assert.Equal(Outcome.QueueFull, refused.Outcome);

        _scorer.Open();
        Assert.Equal(Outcome.Ok, (await emergency).Outcome);
        Assert.Equal(Outcome.Ok, (await control).Outcome);
        await running;
        Assert.Equal([-1, 1, 2], _scorer.Scored);
        Assert.Equal(2, Dropped(LatencyClass.YieldForecasting, Outcome.ShedOldest));
        Assert.Equal(1, Dropped(LatencyClass.YieldForecasting, Outcome.QueueFull));
    }

    [Fact]
    public async Task OneClientsFlood_ShedsAndDelaysItsOwnWork_NotAnotherClientsOfTheSameClass()
    {
        var batcher = Create(capacityRows: 4, maxBatchRows: 1, admission: new AdmissionSettings(AdmissionPolicy.ShedOldest));
        var running = await OccupyAsync(batcher);
        var flood = Due(LatencyClass.ProcessControl) with { Client = "flood" };
        var light = Due(LatencyClass.ProcessControl) with { Client = "light" };
        var lightFirst = Score(batcher, 1, light);
        var floodFirst = Enumerable.Range(10, 3).Select(v => Score(batcher, v, flood)).ToArray();
        // The queue is full: the flood's next requests shed the flood's own oldest, not the light client's (the oldest of all).
        var floodMore = Enumerable.Range(20, 3).Select(v => Score(batcher, v, flood)).ToArray();
        var lightLast = Score(batcher, 2, light);

        _scorer.Open();
        Assert.Equal(Outcome.Ok, (await lightFirst).Outcome);
        Assert.Equal(Outcome.Ok, (await lightLast).Outcome);
        Assert.All(await Task.WhenAll(floodFirst), r => Assert.Equal(Outcome.ShedOldest, r.Outcome));
        Assert.Equal([Outcome.ShedOldest, Outcome.Ok, Outcome.Ok], (await Task.WhenAll(floodMore)).Select(r => r.Outcome));
        await running;
        // The light client's last request runs before the flood's queued ones; FIFO would run it last.
        Assert.Equal([-1, 1, 2, 21, 22], _scorer.Scored);
    }

    [Fact]
    public async Task ShedNewest_DropsTheNewestQueuedWorkOfTheLeastUrgentClass()
    {
        var batcher = Create(capacityRows: 2, admission: new AdmissionSettings(AdmissionPolicy.ShedNewest));
        var running = await OccupyAsync(batcher);
        var older = Score(batcher, 10, Due(LatencyClass.YieldForecasting));
        var newer = Score(batcher, 11, Due(LatencyClass.YieldForecasting));

        var emergency = Score(batcher, 1, Due(LatencyClass.Emergency));

        Assert.Equal(Outcome.ShedNewest, (await newer).Outcome);
        _scorer.Open();
        Assert.Equal(Outcome.Ok, (await older).Outcome);
        Assert.Equal(Outcome.Ok, (await emergency).Outcome);
        await running;
    }

    [Fact]
    public async Task Sample_AboveTheWatermark_AdmitsOneInN()
    {
        var batcher = Create(admission: new AdmissionSettings(AdmissionPolicy.Sample, SampleWatermarkRows: 2, SampleKeepEvery: 3));
        var running = await OccupyAsync(batcher);

        var tasks = Enumerable.Range(0, 11).Select(i => Score(batcher, i, Due(LatencyClass.ProcessControl))).ToArray();

        // Two queue below the watermark; of the nine above it, every third is kept.
        var sampled = tasks.Where(t => t.IsCompleted).ToArray();
        Assert.Equal(6, sampled.Length);
        Assert.All(sampled, t => Assert.Equal(Outcome.Sampled, t.Result.Outcome));
        Assert.Equal(5, batcher.QueuedRows);
        _scorer.Open();
        await Task.WhenAll(tasks.Append(running));
        Assert.Equal(6, Dropped(LatencyClass.ProcessControl, Outcome.Sampled));
    }

    [Theory]
    [InlineData(AdmissionPolicy.Buffer)]
    [InlineData(AdmissionPolicy.Sample)]
    [InlineData(AdmissionPolicy.ShedOldest)]
    [InlineData(AdmissionPolicy.ShedNewest)]
    public async Task Overload_AccountsForEveryRequest_AcceptedPlusDroppedEqualsSent(AdmissionPolicy policy)
    {
        var batcher = Create(capacityRows: 50, maxBatchRows: 8, admission: new AdmissionSettings(policy, SampleWatermarkRows: 25, SampleKeepEvery: 4));
        var random = new Random(7);
        var running = await OccupyAsync(batcher);

        var sent = Enumerable.Range(0, 1000)
            .Select(i => Score(batcher, i, Due(LatencyClasses.All[random.Next(LatencyClasses.Count)])))
            .Append(running)
            .ToArray();
        _scorer.Open();
        var results = await Task.WhenAll(sent);

        var accepted = results.Count(r => r.IsOk);
        var dropped = results.Count(r => r.Outcome.Describe().IsDrop);
        Assert.Equal(sent.Length, accepted + dropped);
        Assert.Equal(accepted, _scorer.Scored.Count);
        Assert.Equal(accepted, _meters.Total("requests_total", ("model", "m"), ("outcome", "ok")));
        var counted = LatencyClasses.All
            .SelectMany(c => OutcomeVocabulary.All.Where(o => o.Describe().IsDrop).Select(r => Dropped(c, r)))
            .Sum();
        Assert.Equal(dropped, counted);
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
