using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Outcomes;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Tests.Batching;

/// <summary>Each admission rule alone, on queues built by hand, with the time given as a number: no batcher, no clock, no threads.</summary>
public sealed class AdmissionTests
{
    // One timestamp tick is one second, so deadlines and predicted waits read directly.
    private const long Frequency = 1;

    private readonly ClassQueues _queues = new();
    private List<BatchWork>? _shed;

    private static BatchWork Work(LatencyClass latencyClass, long due, int rows = 1) =>
        new(new float[rows], new float[rows], rows, 0, new Deadline(latencyClass, due), CancellationToken.None);

    private static Admission Create(AdmissionPolicy policy = AdmissionPolicy.Buffer, int capacity = 10, RunCost? cost = null, int watermark = 0, int keepEvery = 1) =>
        new(new AdmissionSettings(policy, watermark, keepEvery), capacity, cost ?? new RunCost(), Frequency);

    private static RunCost Learned(double secondsPerRow)
    {
        var cost = new RunCost();
        for (var i = 0; i < RunCost.RunsBeforePredicting; i++)
        {
            cost.Observe(rows: 10, TimeSpan.FromSeconds(10 * secondsPerRow));
        }

        return cost;
    }

    [Fact]
    public void Admit_PastDeadline_IsExpired() =>
        Assert.Equal(Outcome.DeadlineExpired, Create().Admit(_queues, Work(LatencyClass.Emergency, due: 5), now: 5, ref _shed));

    [Fact]
    public void Admit_EmptyQueue_AdmitsEvenWorkLargerThanTheCapacity() =>
        Assert.Equal(Outcome.Ok, Create(capacity: 1).Admit(_queues, Work(LatencyClass.ProcessControl, due: 10, rows: 50), now: 0, ref _shed));

    [Fact]
    public void Admit_WhenTheWorkAheadOutlastsTheDeadline_IsUnmeetable_OnlyOnceTheSpeedIsKnown()
    {
        _queues.Enqueue(Work(LatencyClass.Emergency, due: 100, rows: 5));
        var late = Work(LatencyClass.ProcessControl, due: 4);

        // 5 rows ahead at 1 s a row end at 5 > 4; before the speed is learned nothing is predicted.
        Assert.Equal(Outcome.Ok, Create(capacity: 100).Admit(_queues, late, now: 0, ref _shed));
        Assert.Equal(Outcome.DeadlineUnmeetable, Create(capacity: 100, cost: Learned(1)).Admit(_queues, late, now: 0, ref _shed));
        // Less urgent work queued behind does not count against it.
        _queues.Enqueue(Work(LatencyClass.YieldForecasting, due: 100, rows: 50));
        Assert.Equal(Outcome.Ok, Create(capacity: 100, cost: Learned(1)).Admit(_queues, Work(LatencyClass.ProcessControl, due: 6), now: 0, ref _shed));
    }

    [Fact]
    public void Admit_AboveTheWatermark_SamplesOneInN()
    {
        var admission = Create(AdmissionPolicy.Sample, capacity: 100, watermark: 1, keepEvery: 3);
        _queues.Enqueue(Work(LatencyClass.ProcessControl, due: 100));

        var outcomes = Enumerable.Range(0, 6).Select(_ => admission.Admit(_queues, Work(LatencyClass.ProcessControl, due: 100), now: 0, ref _shed)).ToArray();

        Assert.Equal([Outcome.Sampled, Outcome.Sampled, Outcome.Ok, Outcome.Sampled, Outcome.Sampled, Outcome.Ok], outcomes);
    }

    [Fact]
    public void Admit_FullBufferQueue_IsQueueFull()
    {
        _queues.Enqueue(Work(LatencyClass.YieldForecasting, due: 100, rows: 10));

        Assert.Equal(Outcome.QueueFull, Create(capacity: 10).Admit(_queues, Work(LatencyClass.Emergency, due: 100), now: 0, ref _shed));
        Assert.Null(_shed);
    }

    [Fact]
    public void Admit_FullSheddingQueue_ShedsLessUrgentWorkButNeverMoreUrgent()
    {
        var yieldWork = Work(LatencyClass.YieldForecasting, due: 100, rows: 5);
        _queues.Enqueue(Work(LatencyClass.Emergency, due: 100, rows: 5));
        _queues.Enqueue(yieldWork);
        var admission = Create(AdmissionPolicy.ShedOldest, capacity: 10);

        // A process-control newcomer may push out yield forecasting, not the emergency.
        Assert.Equal(Outcome.Ok, admission.Admit(_queues, Work(LatencyClass.ProcessControl, due: 100, rows: 2), now: 0, ref _shed));
        Assert.Equal([yieldWork], _shed);
        Assert.Equal(Outcome.ShedOldest, admission.ShedOutcome);
        _shed = null;
        Assert.Equal(Outcome.QueueFull, admission.Admit(_queues, Work(LatencyClass.ProcessControl, due: 100, rows: 6), now: 0, ref _shed));
        Assert.Null(_shed);
    }
}
