namespace RealTimeInference.Inference.Monitoring;

/// <summary>Latency percentiles, throughput and error rate over a monitor's sliding <see cref="RequestMonitor.Window"/>.</summary>
public readonly record struct MonitorSnapshot(
    double P50Ms,
    double P95Ms,
    double P99Ms,
    double AvgMs,
    double MaxMs,
    double ThroughputRps,
    double ErrorRate,
    long Requests);

/// <summary>
/// Sliding-window request statistics kept in one-second slices: recording touches one slice
/// (a few interlocked operations), a snapshot merges the live slices.
/// </summary>
public sealed class RequestMonitor
{
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly Slice[] _slices;

    public RequestMonitor(TimeProvider time, int windowSeconds = 60)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSeconds, 1);
        _time = time;
        _started = time.GetTimestamp();
        _slices = new Slice[windowSeconds];
        for (var i = 0; i < windowSeconds; i++)
        {
            _slices[i] = new Slice();
        }
    }

    public TimeSpan Window => TimeSpan.FromSeconds(_slices.Length);

    public void Record(TimeSpan latency, bool success)
    {
        var second = CurrentSecond();
        var slice = _slices[second % _slices.Length];
        if (Volatile.Read(ref slice.Second) != second)
        {
            lock (slice)
            {
                if (slice.Second != second)
                {
                    slice.Reset();
                    Volatile.Write(ref slice.Second, second);
                }
            }
        }

        var micros = (long)(latency.Ticks / (double)TimeSpan.TicksPerMicrosecond);
        slice.Histogram.Record(micros);
        Interlocked.Increment(ref slice.Count);
        Interlocked.Add(ref slice.SumMicros, micros);
        if (!success)
        {
            Interlocked.Increment(ref slice.Errors);
        }

        var max = Volatile.Read(ref slice.MaxMicros);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref slice.MaxMicros, micros, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    public MonitorSnapshot Snapshot()
    {
        var second = CurrentSecond();
        var oldest = second - _slices.Length + 1;
        var counts = new long[LatencyHistogram.BucketCount];
        long total = 0, errors = 0, sum = 0, max = 0;
        foreach (var slice in _slices)
        {
            var s = Volatile.Read(ref slice.Second);
            if (s < oldest || s > second)
            {
                continue;
            }

            slice.Histogram.AddTo(counts);
            total += Volatile.Read(ref slice.Count);
            errors += Volatile.Read(ref slice.Errors);
            sum += Volatile.Read(ref slice.SumMicros);
            max = Math.Max(max, Volatile.Read(ref slice.MaxMicros));
        }

        if (total == 0)
        {
            return new MonitorSnapshot(0, 0, 0, 0, 0, 0, 0, 0);
        }

        // Before a full window has passed, divide by the time actually covered.
        var covered = Math.Min(_slices.Length, _time.GetElapsedTime(_started).TotalSeconds);
        var maxMs = max / 1000.0;
        double Ms(double p) => Math.Min(LatencyHistogram.Percentile(counts, total, p) / 1000.0, maxMs);
        return new MonitorSnapshot(
            Ms(50),
            Ms(95),
            Ms(99),
            sum / 1000.0 / total,
            maxMs,
            total / Math.Max(covered, 1.0),
            errors / (double)total,
            total);
    }

    private long CurrentSecond() => (long)_time.GetElapsedTime(_started).TotalSeconds;

    private sealed class Slice
    {
        public long Second = -1;
        public long Count;
        public long Errors;
        public long SumMicros;
        public long MaxMicros;

        public LatencyHistogram Histogram { get; } = new();

        public void Reset()
        {
            Histogram.Clear();
            Count = 0;
            Errors = 0;
            SumMicros = 0;
            MaxMicros = 0;
        }
    }
}
