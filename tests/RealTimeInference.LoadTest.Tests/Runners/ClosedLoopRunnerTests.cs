using System.Net;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;
using RealTimeInference.LoadTest.Runners;

namespace RealTimeInference.LoadTest.Tests.Runners;

/// <summary>The fake server moves fake time forward as it answers, so a run of N ms holds a known number of requests.</summary>
public sealed class ClosedLoopRunnerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_CountsEachKindOfOutcome()
    {
        int[] statuses = [200, 201, 429, 503, 400, 404, 500, 302, -1];
        var next = 0;
        var handler = new FakeHandler((_, _) =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            var status = statuses[next++ % statuses.Length];
            return status < 0
                ? throw new HttpRequestException("connection reset")
                : Task.FromResult(new HttpResponseMessage((HttpStatusCode)status));
        });

        var result = await Run(handler, connections: 1, TimeSpan.Zero, TimeSpan.FromMilliseconds(18));

        var counts = result.Counts;
        Assert.Equal(18, counts.Total);
        Assert.Equal(4, counts.Ok);
        Assert.Equal(2, counts.RateLimited);
        Assert.Equal(2, counts.Unavailable);
        Assert.Equal(4, counts.ClientErrors);
        Assert.Equal(2, counts.ServerErrors);
        Assert.Equal(2, counts.OtherStatus);
        Assert.Equal(2, counts.TransportErrors);
        Assert.Equal(0, counts.Timeouts);
        Assert.Equal(16, result.Latency.Count);
        Assert.Equal(4 / 0.018, result.AchievedRps, 6);
    }

    [Fact]
    public async Task RunAsync_TimesEachRequestFromItsOwnSend_AndSkipsWarmUp()
    {
        var handler = new FakeHandler((_, _) =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(2));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        });

        var result = await Run(handler, connections: 1, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20));

        Assert.Equal(15, handler.Calls);
        Assert.Equal(10, result.Counts.Ok);
        Assert.Equal(2, result.Latency.P50Ms);
        Assert.Equal(2, result.Latency.MaxMs);
        Assert.Null(result.OfferedRps);
        Assert.Null(result.ScheduleLag);
    }

    [Fact]
    public async Task RunAsync_RunsOneWorkerPerConnection()
    {
        var inFlight = 0;
        var peak = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new FakeHandler(async (_, _) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            if (now == 4)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                release.TrySetResult();
            }

            await release.Task.ConfigureAwait(false);
            Interlocked.Decrement(ref inFlight);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });

        var result = await Run(handler, connections: 4, TimeSpan.Zero, TimeSpan.FromMilliseconds(500));

        Assert.Equal(4, peak);
        Assert.Equal(4, result.Counts.Ok);
    }

    private async Task<RunMeasurement> Run(FakeHandler handler, int connections, TimeSpan warmup, TimeSpan duration)
    {
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var runner = new ClosedLoopRunner(new RequestSender(client, TimeSpan.FromMinutes(1), _time), _time);
        var source = new RequestSource(new Uri("http://server/predict"), [[1]], 1);
        return await runner.RunAsync(source, connections, warmup, duration, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
