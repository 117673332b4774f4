using System.Net;
using Microsoft.Extensions.Time.Testing;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;
using RealTimeInference.LoadTest.Runners;

namespace RealTimeInference.LoadTest.Tests.Runners;

/// <summary>
/// Fake time drives the schedule; inline dispatch, synchronous fake responses and no SynchronizationContext make
/// every send and every answer happen inside <see cref="FakeTimeProvider.Advance"/>, at a known instant.
/// </summary>
public sealed class OpenLoopRunnerTests
{
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_SendsAtExactOneOverRateSpacing()
    {
        var arrivals = new List<long>();
        var handler = new FakeHandler((_, _) =>
        {
            arrivals.Add(_time.GetTimestamp());
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        });
        var start = _time.GetTimestamp();

        var result = await Drive(handler, rate: 1000, TimeSpan.Zero, TimeSpan.FromMilliseconds(50), maxOutstanding: 100, steps: 60);

        var spacing = _time.TimestampFrequency / 1000;
        Assert.Equal(Enumerable.Range(0, 50).Select(i => start + (i * spacing)), arrivals);
        Assert.Equal(50, result.Counts.Ok);
        Assert.Equal(50, result.Scheduled);
        Assert.Equal(1000, result.OfferedRps);
        Assert.Equal(0, result.Latency.MaxMs);
        Assert.Equal(0, result.ScheduleLag!.MaxMs);
    }

    [Fact]
    public async Task RunAsync_WhenTheServerStalls_ChargesTheStallToEveryRequestScheduledDuringIt()
    {
        var stall = new Stall();
        var handler = new FakeHandler(stall.RespondAsync);

        var result = await Drive(handler, rate: 1000, TimeSpan.Zero, TimeSpan.FromMilliseconds(100), maxOutstanding: 10_000, steps: 110, stall, stallFromMs: 20, releaseAtMs: 50);

        // Requests due at 20..50 ms all answer at 50 ms: latencies 30, 29, ... 1, 0 ms; the other 69 answer at once.
        Assert.Equal(100, result.Latency.Count);
        Assert.Equal(100, result.Counts.Ok);
        Assert.Equal(30, result.Latency.MaxMs, 0.05);
        Assert.Equal(0, result.Latency.P50Ms);
        Assert.Equal(465 / 100.0, result.Latency.MeanMs, 0.01);
        Assert.Equal(0, result.CapDelayed);
    }

    [Fact]
    public async Task RunAsync_WhenTheOutstandingCapHolds_SendsLateButStillTimesFromTheSchedule()
    {
        var stall = new Stall();
        var handler = new FakeHandler(stall.RespondAsync);

        var result = await Drive(handler, rate: 1000, TimeSpan.Zero, TimeSpan.FromMilliseconds(100), maxOutstanding: 1, steps: 110, stall, stallFromMs: 20, releaseAtMs: 50);

        // Request 20 holds the only slot until 50 ms; 21..50 wait for it and go out at 51 ms with 51 itself.
        // Timed from their schedule they took 30, 30, 29, ... 1, 0 ms: nothing is hidden by the cap.
        Assert.Equal(100, result.Latency.Count);
        Assert.Equal(30, result.Latency.MaxMs, 0.05);
        Assert.Equal((30 + 465) / 100.0, result.Latency.MeanMs, 0.01);
        Assert.Equal(30, result.CapDelayed);
        Assert.Equal(0, result.Unsent);
        Assert.Equal(30, result.ScheduleLag!.MaxMs, 0.05);
    }

    [Fact]
    public async Task RunAsync_WhenTheServerNeverAnswers_CountsUnsentAndTimeouts()
    {
        var handler = new FakeHandler(async (_, token) =>
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });

        var result = await Drive(handler, rate: 1000, TimeSpan.Zero, TimeSpan.FromMilliseconds(10), maxOutstanding: 2, steps: 40, giveUpAfter: TimeSpan.FromMilliseconds(5), timeout: TimeSpan.FromMilliseconds(20));

        Assert.Equal(10, result.Scheduled);
        Assert.Equal(2, result.Counts.Timeouts);
        Assert.Equal(8, result.Unsent);
        Assert.Equal(0, result.Latency.Count);
    }

    [Fact]
    public async Task RunAsync_DoesNotRecordWarmUp()
    {
        var handler = new FakeHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)));

        var result = await Drive(handler, rate: 1000, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(30), maxOutstanding: 100, steps: 60);

        Assert.Equal(50, handler.Calls);
        Assert.Equal(30, result.Counts.Ok);
        Assert.Equal(30, result.Scheduled);
        Assert.Equal(0.03, result.MeasuredSeconds, 6);
        Assert.Equal(1000, result.AchievedRps, 6);
    }

    private async Task<RunMeasurement> Drive(
        FakeHandler handler,
        double rate,
        TimeSpan warmup,
        TimeSpan duration,
        int maxOutstanding,
        int steps,
        Stall? stall = null,
        int stallFromMs = -1,
        int releaseAtMs = -1,
        TimeSpan? giveUpAfter = null,
        TimeSpan? timeout = null)
    {
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var sender = new RequestSender(client, timeout ?? TimeSpan.FromMinutes(1), _time);
        var runner = new OpenLoopRunner(sender, _time, OpenLoopDispatch.Inline);
        var source = new RequestSource(new Uri("http://server/predict"), [[1]], 1);

        // Off the test's SynchronizationContext, continuations run inline where the fake timer fires.
        return await Task.Run(() =>
        {
            var running = runner.RunAsync(source, rate, warmup, duration, maxOutstanding, giveUpAfter ?? TimeSpan.FromSeconds(1), CancellationToken.None);
            for (var ms = 1; ms <= steps; ms++)
            {
                if (ms == stallFromMs)
                {
                    stall!.Begin();
                }

                _time.Advance(OneMs);
                if (ms == releaseAtMs)
                {
                    stall!.Release();
                }
            }

            return running;
        }).WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>While begun, requests hang until released; released, they all answer at that instant.</summary>
    private sealed class Stall
    {
        // One gate per request: a task with several awaiters resumes only the last inline and queues the rest.
        private readonly List<TaskCompletionSource> _held = [];
        private bool _stalled;

        public void Begin() => _stalled = true;

        public void Release()
        {
            _stalled = false;
            foreach (var gate in _held)
            {
                gate.SetResult();
            }
        }

        public async Task<HttpResponseMessage> RespondAsync(HttpRequestMessage request, CancellationToken token)
        {
            if (_stalled)
            {
                var gate = new TaskCompletionSource();
                _held.Add(gate);
                await gate.Task.ConfigureAwait(false);
            }

            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
