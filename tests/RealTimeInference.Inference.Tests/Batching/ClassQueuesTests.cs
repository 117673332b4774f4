using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Tests.Batching;

public sealed class ClassQueuesTests
{
    private static BatchWork Work(LatencyClass latencyClass, long due, int rows = 1, long enqueued = 0) =>
        new(new float[rows], new float[rows], rows, enqueued, new Deadline(latencyClass, due), CancellationToken.None);

    [Fact]
    public void DequeueEarliest_TakesTheEarliestDeadlineAcrossClasses_FifoWithinOne()
    {
        var queues = new ClassQueues();
        var yieldWork = Work(LatencyClass.YieldForecasting, due: 30);
        var control1 = Work(LatencyClass.ProcessControl, due: 10);
        var control2 = Work(LatencyClass.ProcessControl, due: 11);
        var emergency = Work(LatencyClass.Emergency, due: 12);
        foreach (var work in new[] { yieldWork, control1, control2, emergency })
        {
            queues.Enqueue(work);
        }

        Assert.Same(control1, queues.PeekEarliest());
        Assert.Equal([control1, control2, emergency, yieldWork], Enumerable.Range(0, 4).Select(_ => queues.DequeueEarliest()));
        Assert.Null(queues.PeekEarliest());
        Assert.Equal(0, queues.Rows);
    }

    [Fact]
    public void Rows_AheadAndSheddable_CountTheClassesThatRunBeforeOrGiveWay()
    {
        var queues = new ClassQueues();
        queues.Enqueue(Work(LatencyClass.Emergency, 1, rows: 1));
        queues.Enqueue(Work(LatencyClass.ProcessControl, 2, rows: 10));
        queues.Enqueue(Work(LatencyClass.YieldForecasting, 3, rows: 100));

        Assert.Equal(111, queues.Rows);
        Assert.Equal(11, queues.RowsAhead(LatencyClass.ProcessControl));
        Assert.Equal(110, queues.RowsSheddableFor(LatencyClass.ProcessControl));
        Assert.Equal(1, queues.RowsAhead(LatencyClass.Emergency));
        Assert.Equal(100, queues.RowsSheddableFor(LatencyClass.DefectDetection));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Shed_TakesTheLeastUrgentClassFirst_OldestOrNewestWithinIt(bool oldestFirst)
    {
        var queues = new ClassQueues();
        var control = Work(LatencyClass.ProcessControl, 1, rows: 2);
        var older = Work(LatencyClass.YieldForecasting, 2, rows: 2);
        var newer = Work(LatencyClass.YieldForecasting, 3, rows: 2);
        queues.Enqueue(control);
        queues.Enqueue(older);
        queues.Enqueue(newer);
        var shed = new List<BatchWork>();

        queues.Shed(excess: 3, oldestFirst, shed);

        // Three rows needed: both yield-forecasting items go, in policy order; process control stays.
        Assert.Equal(oldestFirst ? [older, newer] : new[] { newer, older }, shed);
        Assert.Equal(2, queues.Rows);
        Assert.Same(control, queues.PeekEarliest());
    }

    [Fact]
    public void OldestEnqueue_IsTheLongestWaitingHead()
    {
        var queues = new ClassQueues();
        Assert.Null(queues.OldestEnqueue());
        queues.Enqueue(Work(LatencyClass.Emergency, 100, enqueued: 50));
        queues.Enqueue(Work(LatencyClass.YieldForecasting, 200, enqueued: 20));

        Assert.Equal(20, queues.OldestEnqueue());
    }
}
