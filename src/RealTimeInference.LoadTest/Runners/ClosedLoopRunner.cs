using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// N workers, each sending its next request as soon as the previous one answers. Requests sent during the
/// warm-up are not recorded; requests sent before the window closes are recorded when they answer.
/// </summary>
internal sealed class ClosedLoopRunner(RequestSender sender, TimeProvider time)
{
    public async Task<RunMeasurement> RunAsync(
        RequestSource source, int connections, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var recorder = new RunRecorder(time);
        var measureStart = time.Add(time.GetTimestamp(), warmup);
        var measureEnd = time.Add(measureStart, duration);
        var workers = new Task[connections];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkAsync(source, recorder, measureStart, measureEnd, cancellationToken), cancellationToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return recorder.Complete(measureStart, duration, offeredRps: null, scheduled: null, capDelayed: 0, unsent: 0);
    }

    private async Task WorkAsync(RequestSource source, RunRecorder recorder, long measureStart, long measureEnd, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sentAt = time.GetTimestamp();
            if (sentAt >= measureEnd)
            {
                return;
            }

            var outcome = await sender.SendAsync(source).ConfigureAwait(false);
            if (sentAt >= measureStart)
            {
                recorder.Record(outcome, sentAt, time.GetTimestamp());
            }
        }
    }
}
