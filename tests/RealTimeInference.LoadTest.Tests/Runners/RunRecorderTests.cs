using Microsoft.Extensions.Time.Testing;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Runners;

namespace RealTimeInference.LoadTest.Tests.Runners;

public sealed class RunRecorderTests
{
    [Fact]
    public void Complete_TimesEveryResponse_AndAcceptedOnesApart()
    {
        var time = new FakeTimeProvider();
        var recorder = new RunRecorder(time);
        var start = time.GetTimestamp();
        var ms = time.TimestampFrequency / 1000;

        recorder.Record(new RequestOutcome(OutcomeKind.Response, 200), start, start + (40 * ms));
        recorder.Record(new RequestOutcome(OutcomeKind.Response, 503), start, start + (2 * ms));
        recorder.Record(RequestOutcome.TimedOut, start, start + (900 * ms));
        var run = recorder.Complete(start, TimeSpan.FromSeconds(1), offeredRps: null, scheduled: null, capDelayed: 0, unsent: 0);

        Assert.Equal(2, run.Latency.Count);
        Assert.Equal(1, run.OkLatency?.Count);
        Assert.Equal(40, run.OkLatency!.MaxMs, 0);
        Assert.Equal(1, run.Counts.Unavailable);
        Assert.Equal(1, run.Counts.Timeouts);
    }
}
