using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// One FIFO per latency class, with row counts. Within a class budgets are equal, so FIFO order is
/// deadline order and the earliest deadline overall is one of the heads. Not thread-safe: the
/// batcher holds its lock around every call.
/// </summary>
internal sealed class ClassQueues
{
    private readonly LinkedList<BatchWork>[] _queues = [.. LatencyClasses.All.Select(_ => new LinkedList<BatchWork>())];
    private readonly long[] _rows = new long[LatencyClasses.Count];

    /// <summary>Rows queued in every class.</summary>
    public long Rows { get; private set; }

    /// <summary>Rows that run before new work of <paramref name="latencyClass"/>: its own class and the more urgent ones.</summary>
    public long RowsAhead(LatencyClass latencyClass)
    {
        var rows = 0L;
        for (var c = 0; c <= (int)latencyClass; c++)
        {
            rows += _rows[c];
        }

        return rows;
    }

    /// <summary>Rows that may make room for new work of <paramref name="latencyClass"/>: its own class and the less urgent ones.</summary>
    public long RowsSheddableFor(LatencyClass latencyClass)
    {
        var rows = 0L;
        for (var c = (int)latencyClass; c < LatencyClasses.Count; c++)
        {
            rows += _rows[c];
        }

        return rows;
    }

    public void Enqueue(BatchWork work)
    {
        _queues[(int)work.Deadline.Class].AddLast(work);
        Count(work, +1);
    }

    /// <summary>The queued work with the earliest deadline, left in place; null when nothing is queued.</summary>
    public BatchWork? PeekEarliest() => Earliest()?.First!.Value;

    /// <summary>Removes the work <see cref="PeekEarliest"/> returned.</summary>
    public BatchWork DequeueEarliest()
    {
        var queue = Earliest() ?? throw new InvalidOperationException("Nothing is queued.");
        var work = queue.First!.Value;
        queue.RemoveFirst();
        Count(work, -1);
        return work;
    }

    /// <summary>
    /// Removes at least <paramref name="excess"/> rows, least urgent class first, oldest or newest
    /// first within a class, into <paramref name="shed"/>. The caller checked there are enough.
    /// </summary>
    public void Shed(long excess, bool oldestFirst, List<BatchWork> shed)
    {
        for (var c = LatencyClasses.Count - 1; excess > 0 && c >= 0; c--)
        {
            var queue = _queues[c];
            while (excess > 0 && queue.Count > 0)
            {
                var victim = oldestFirst ? queue.First!.Value : queue.Last!.Value;
                if (oldestFirst)
                {
                    queue.RemoveFirst();
                }
                else
                {
                    queue.RemoveLast();
                }

                Count(victim, -1);
                excess -= victim.Rows;
                shed.Add(victim);
            }
        }
    }

    /// <summary>When the longest-waiting work was queued; null when nothing is.</summary>
    public long? OldestEnqueue()
    {
        long? oldest = null;
        foreach (var queue in _queues)
        {
            if (queue.First is { } head && (oldest is null || head.Value.Enqueued < oldest))
            {
                oldest = head.Value.Enqueued;
            }
        }

        return oldest;
    }

    private LinkedList<BatchWork>? Earliest()
    {
        LinkedList<BatchWork>? earliest = null;
        foreach (var queue in _queues)
        {
            if (queue.First is { } head && (earliest is null || head.Value.Deadline.Due < earliest.First!.Value.Deadline.Due))
            {
                earliest = queue;
            }
        }

        return earliest;
    }

    private void Count(BatchWork work, int sign)
    {
        _rows[(int)work.Deadline.Class] += sign * work.Rows;
        Rows += sign * work.Rows;
    }
}
