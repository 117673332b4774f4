using RealTimeInference.Inference.Scheduling;

namespace RealTimeInference.Inference.Batching;

/// <summary>
/// One queue per latency class, with row counts; earliest deadline first across the classes (the
/// heads are compared). Within a class the clients (<see cref="Deadline.Client"/>) share the turns
/// by rows, so one client's flood waits behind itself, not in front of everyone else; with one
/// client a class is plain FIFO. Not thread-safe: the batcher holds its lock around every call.
/// </summary>
internal sealed class ClassQueues
{
    private readonly FairQueue[] _queues = [.. LatencyClasses.All.Select(_ => new FairQueue())];

    /// <summary>Rows queued in every class.</summary>
    public long Rows { get; private set; }

    /// <summary>
    /// Rows that run before <paramref name="work"/> once queued: the more urgent classes' and, in its
    /// own class, its client's and each other client's share beside it.
    /// </summary>
    public long RowsAhead(BatchWork work)
    {
        var latencyClass = (int)work.Deadline.Class;
        var rows = _queues[latencyClass].RowsAhead(work);
        for (var c = 0; c < latencyClass; c++)
        {
            rows += _queues[c].Rows;
        }

        return rows;
    }

    /// <summary>Rows that may make room for new work of <paramref name="latencyClass"/>: its own class and the less urgent ones.</summary>
    public long RowsSheddableFor(LatencyClass latencyClass)
    {
        var rows = 0L;
        for (var c = (int)latencyClass; c < LatencyClasses.Count; c++)
        {
            rows += _queues[c].Rows;
        }

        return rows;
    }

    public void Enqueue(BatchWork work)
    {
        _queues[(int)work.Deadline.Class].Enqueue(work);
        Rows += work.Rows;
    }

    /// <summary>The next work to run, left in place: the class heads' earliest deadline; null when nothing is queued.</summary>
    public BatchWork? PeekEarliest() => Earliest()?.Head;

    /// <summary>Removes the work <see cref="PeekEarliest"/> returned.</summary>
    public BatchWork DequeueEarliest()
    {
        var work = (Earliest() ?? throw new InvalidOperationException("Nothing is queued.")).Dequeue();
        Rows -= work.Rows;
        return work;
    }

    /// <summary>
    /// Removes at least <paramref name="excess"/> rows into <paramref name="shed"/>: least urgent class
    /// first; within a class from the client with the most rows queued, its oldest or newest first.
    /// The caller checked there are enough.
    /// </summary>
    public void Shed(long excess, bool oldestFirst, List<BatchWork> shed)
    {
        for (var c = LatencyClasses.Count - 1; excess > 0 && c >= 0; c--)
        {
            var queue = _queues[c];
            while (excess > 0 && queue.Rows > 0)
            {
                var victim = queue.Shed(oldestFirst);
                Rows -= victim.Rows;
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
            if (queue.OldestEnqueue() is { } enqueued && (oldest is null || enqueued < oldest))
            {
                oldest = enqueued;
            }
        }

        return oldest;
    }

    private FairQueue? Earliest()
    {
        FairQueue? earliest = null;
        foreach (var queue in _queues)
        {
            if (queue.Head is { } head && (earliest is null || head.Deadline.Due < earliest.Head!.Deadline.Due))
            {
                earliest = queue;
            }
        }

        return earliest;
    }

    /// <summary>
    /// Start-time fair queueing by rows: work is tagged with the virtual time its client's earlier
    /// work ends (or now, for a client with nothing queued) and runs in tag order. A client that
    /// sends little finds its work near the front however much another client has queued.
    /// </summary>
    private sealed class FairQueue
    {
        private readonly SortedSet<BatchWork> _order = new(Comparer<BatchWork>.Create(
            static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Sequence.CompareTo(b.Sequence)));

        private readonly Dictionary<string, Client> _clients = [];
        private long _virtualTime;
        private long _sequence;

        public long Rows { get; private set; }

        public BatchWork? Head => _order.Count > 0 ? _order.Min : null;

        public long RowsAhead(BatchWork work)
        {
            var own = _clients.TryGetValue(Key(work), out var client) ? client.Rows : 0;
            if (_clients.Count == 0 || (_clients.Count == 1 && client is not null))
            {
                return Rows;
            }

            // Each other client runs about as many rows as this one has queued, new work included, before it.
            var rows = own;
            foreach (var other in _clients.Values)
            {
                if (other != client)
                {
                    rows += Math.Min(other.Rows, own + work.Rows);
                }
            }

            return rows;
        }

        public void Enqueue(BatchWork work)
        {
            var key = Key(work);
            if (!_clients.TryGetValue(key, out var client))
            {
                client = new Client();
                _clients.Add(key, client);
            }

            work.Start = Math.Max(_virtualTime, client.Finish);
            work.Sequence = _sequence++;
            client.Finish = work.Start + work.Rows;
            client.Work.AddLast(work);
            client.Rows += work.Rows;
            Rows += work.Rows;
            _order.Add(work);
        }

        public BatchWork Dequeue()
        {
            var work = _order.Min!;
            _virtualTime = work.Start;
            // A client's work is tagged in its arrival order, so the earliest tag overall is its first.
            Remove(work, _clients[Key(work)], first: true);
            return work;
        }

        public BatchWork Shed(bool oldestFirst)
        {
            var heaviest = _clients.Values.MaxBy(c => c.Rows)!;
            var victim = oldestFirst ? heaviest.Work.First!.Value : heaviest.Work.Last!.Value;
            if (!oldestFirst)
            {
                // The newest's turn is given back: the client's next work takes its place.
                heaviest.Finish = victim.Start;
            }

            Remove(victim, heaviest, oldestFirst);
            return victim;
        }

        public long? OldestEnqueue()
        {
            long? oldest = null;
            foreach (var client in _clients.Values)
            {
                var enqueued = client.Work.First!.Value.Enqueued;
                if (oldest is null || enqueued < oldest)
                {
                    oldest = enqueued;
                }
            }

            return oldest;
        }

        private void Remove(BatchWork work, Client client, bool first)
        {
            _order.Remove(work);
            if (first)
            {
                client.Work.RemoveFirst();
            }
            else
            {
                client.Work.RemoveLast();
            }

            client.Rows -= work.Rows;
            Rows -= work.Rows;
            if (client.Work.Count == 0)
            {
                _clients.Remove(Key(work));
            }
        }

        private static string Key(BatchWork work) => work.Deadline.Client ?? "";

        private sealed class Client
        {
            public LinkedList<BatchWork> Work { get; } = new();

            public long Rows { get; set; }

            /// <summary>The virtual time at which this client's queued work ends.</summary>
            public long Finish { get; set; }
        }
    }
}
