using Microsoft.Extensions.Time.Testing;
using RealTimeInference.Inference.Monitoring;

namespace RealTimeInference.Inference.Tests.Monitoring;

public sealed class RequestMonitorTests
{
    private readonly FakeTimeProvider _time = new();

    private static double NearestRank(double[] sorted, double percentile) =>
        sorted[Math.Max(0, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];

    [Fact]
    public void Snapshot_Percentiles_MatchSortedReferenceWithinBucketPrecision()
    {
        var monitor = new RequestMonitor(_time);
        var random = new Random(7);
        // Log-normal latencies around 1 ms with a long tail, as a server sees them.
        var latenciesMs = Enumerable.Range(0, 20_000)
            .Select(_ => Math.Exp(random.NextDouble() * random.NextDouble() * 6) * 0.2)
            .ToArray();
        foreach (var ms in latenciesMs)
        {
            monitor.Record(TimeSpan.FromMilliseconds(ms), success: true);
        }

        var snapshot = monitor.Snapshot();
        // Recording truncates to whole microseconds; buckets add at most 1/64 relative error.
        var sorted = latenciesMs.Select(ms => Math.Floor(ms * 1000) / 1000).Order().ToArray();
        foreach (var (p, actual) in new[] { (50.0, snapshot.P50Ms), (95.0, snapshot.P95Ms), (99.0, snapshot.P99Ms) })
        {
            var expected = NearestRank(sorted, p);
            Assert.InRange(actual, (expected * (1 - (1 / 64.0))) - 0.001, (expected * (1 + (1 / 64.0))) + 0.001);
        }

        Assert.Equal(sorted.Average(), snapshot.AvgMs, 3);
        Assert.Equal(sorted[^1], snapshot.MaxMs, 3);
        Assert.Equal(latenciesMs.Length, snapshot.Requests);
    }

    [Fact]
    public void Snapshot_ThroughputAndErrorRate_CoverTheElapsedWindow()
    {
        var monitor = new RequestMonitor(_time, windowSeconds: 60);
        for (var second = 0; second < 10; second++)
        {
            for (var i = 0; i < 100; i++)
            {
                monitor.Record(TimeSpan.FromMilliseconds(1), success: i % 10 != 0);
            }

            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var snapshot = monitor.Snapshot();

        Assert.Equal(100, snapshot.ThroughputRps, 6);
        Assert.Equal(0.1, snapshot.ErrorRate, 6);
    }

    [Fact]
    public void Snapshot_ForgetsRequestsOlderThanTheWindow()
    {
        var monitor = new RequestMonitor(_time, windowSeconds: 5);
        monitor.Record(TimeSpan.FromMilliseconds(500), success: false);
        _time.Advance(TimeSpan.FromSeconds(6));
        monitor.Record(TimeSpan.FromMilliseconds(2), success: true);

        var snapshot = monitor.Snapshot();

        Assert.Equal(1, snapshot.Requests);
        Assert.Equal(0, snapshot.ErrorRate);
        Assert.Equal(2, snapshot.MaxMs, 3);
    }

    [Fact]
    public void Snapshot_WithNoRequests_IsAllZero()
    {
        Assert.Equal(default, new RequestMonitor(_time).Snapshot());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(1_000)]
    [InlineData(123_456)]
    [InlineData(30_000_000)]
    public void Histogram_BucketValue_IsWithinOneSixtyFourthOfTheRecordedValue(long micros)
    {
        var value = LatencyHistogram.ValueOf(LatencyHistogram.IndexOf(micros));
        Assert.InRange(value, micros * (1 - (1 / 64.0)), (micros * (1 + (1 / 64.0))) + 0.5);
    }

    [Fact]
    public void Histogram_Indexes_AreMonotonicAndInRange()
    {
        var previous = -1;
        for (long v = 0; v < 1L << 41; v = (v * 5 / 4) + 1)
        {
            var index = LatencyHistogram.IndexOf(v);
            Assert.InRange(index, previous, LatencyHistogram.BucketCount - 1);
            previous = index;
        }
    }
}
