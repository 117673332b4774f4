using RealTimeInference.Inference.Batching;
using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Tests.Batching;

public sealed class ClassQueuesTests
{
    private static BatchWork Work(LatencyClass latencyClass, long due, int rows = 1, long enqueued = 0, string? client = null) =>
        new(new float[rows], new float[rows], rows, enqueued, new Deadline(latencyClass, due) { Client = client }, CancellationToken.None);

    private static BatchWork Flood(string client, int rows = 10) => Work(LatencyClass.ProcessControl, due: 100, rows, client: client);

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
        Assert.Equal(11, queues.RowsAhead(Work(LatencyClass.ProcessControl, 4)));
        Assert.Equal(110, queues.RowsSheddableFor(LatencyClass.ProcessControl));
        Assert.Equal(1, queues.RowsAhead(Work(LatencyClass.Emergency, 4)));
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

    [Fact]
    public void DequeueEarliest_WithinAClass_SharesTurnsByRowsBetweenClients()
    {
        var queues = new ClassQueues();
        var flood = Enumerable.Range(0, 5).Select(_ => Flood("flood")).ToArray();
        foreach (var work in flood)
        {
            queues.Enqueue(work);
        }

        // Queued after the whole flood, with the same deadline class: it runs after the flood's first item, not its last.
        var light = Flood("light", rows: 1);
        queues.Enqueue(light);
        var order = Enumerable.Range(0, 6).Select(_ => queues.DequeueEarliest()).ToArray();

        Assert.Equal([flood[0], light, flood[1], flood[2], flood[3], flood[4]], order);
    }

    [Fact]
    public void DequeueEarliest_TwoBackloggedClients_AlternateByRows()
    {
        var queues = new ClassQueues();
        // One client sends items of 10 rows, the other of 5: per 10 rows of the first, two items of the second.
        for (var i = 0; i < 4; i++)
        {
            queues.Enqueue(Flood("big", rows: 10));
            queues.Enqueue(Flood("small", rows: 5));
            queues.Enqueue(Flood("small", rows: 5));
        }

        var clients = Enumerable.Range(0, 12).Select(_ => queues.DequeueEarliest().Deadline.Client!).ToArray();

        Assert.Equal(["big", "small", "small", "big", "small", "small", "big", "small", "small", "big", "small", "small"], clients);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Shed_TakesFromTheClientWithTheMostRowsQueued(bool oldestFirst)
    {
        var queues = new ClassQueues();
        var light = Flood("light", rows: 1);
        queues.Enqueue(light);
        var flood = Enumerable.Range(0, 3).Select(_ => Flood("flood")).ToArray();
        foreach (var work in flood)
        {
            queues.Enqueue(work);
        }

        var shed = new List<BatchWork>();
        queues.Shed(excess: 15, oldestFirst, shed);

        Assert.Equal(oldestFirst ? [flood[0], flood[1]] : new[] { flood[2], flood[1] }, shed);
        Assert.Same(light, queues.PeekEarliest());
        Assert.Equal(11, queues.Rows);
    }

    [Fact]
    public void RowsAhead_OfALightClient_IsItsShareNotTheWholeQueue()
    {
        var queues = new ClassQueues();
        for (var i = 0; i < 100; i++)
        {
            queues.Enqueue(Flood("flood"));
        }

        queues.Enqueue(Flood("other", rows: 3));

        // The flood and the other client each run about one row per row of the newcomer's before it.
        Assert.Equal(2, queues.RowsAhead(Flood("light", rows: 1)));
        // The flood's own new work waits behind all of its queued rows and the other client's.
        Assert.Equal(1_003, queues.RowsAhead(Flood("flood")));
    }

    [Fact]
    public void Shed_Newest_GivesItsTurnBack()
    {
        var queues = new ClassQueues();
        queues.Enqueue(Flood("a"));
        var dropped = Flood("a");
        queues.Enqueue(dropped);
        queues.Shed(excess: 1, oldestFirst: false, []);
        var next = Flood("a");
        queues.Enqueue(next);

        Assert.Equal(dropped.Start, next.Start);
        Assert.Equal(20, queues.Rows);
    }
}
