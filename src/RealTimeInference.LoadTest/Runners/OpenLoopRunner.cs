using System.Runtime.ExceptionServices;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Runners;

internal enum OpenLoopDispatch
{
    /// <summary>Each send starts on the thread pool so the scheduler never runs request code.</summary>
    ThreadPool,

    /// <summary>Each send starts on the scheduler's own stack; tests use it to stay deterministic under fake time.</summary>
    Inline,
}

/// <summary>
/// Constant arrival rate. Every request has a scheduled send time and its latency is timed from that time,
/// not from when it actually went out, so a stalled server shows up in the latency of everything scheduled
/// during the stall (no coordinated omission). Sends never wait for earlier answers; past
/// <c>maxOutstanding</c> in flight, due sends wait for a slot (still timed from their schedule) and are counted.
/// </summary>
internal sealed class OpenLoopRunner(RequestSender sender, TimeProvider time, OpenLoopDispatch dispatch = OpenLoopDispatch.ThreadPool)
{
    private static readonly TimeSpan CapPollInterval = TimeSpan.FromMilliseconds(1);

    private readonly Pacer _pacer = new(time);

    /// <summary>
    /// Runs warm-up then the measured window at <paramref name="rate"/> requests/s. Due sends may wait for a slot
    /// until <paramref name="giveUpAfter"/> past the window's end; any left then are counted unsent.
    /// </summary>
    public async Task<RunMeasurement> RunAsync(
        RequestSource source,
        double rate,
        TimeSpan warmup,
        TimeSpan duration,
        int maxOutstanding,
        TimeSpan giveUpAfter,
        CancellationToken cancellationToken)
    {
        var recorder = new RunRecorder(time);
        var inFlight = new InFlight();
        var start = time.GetTimestamp();
        var schedule = new OpenLoopSchedule(start, rate, time.TimestampFrequency);
        var measureStart = time.Add(start, warmup);
        var measureEnd = time.Add(measureStart, duration);
        var giveUpAt = time.Add(measureEnd, giveUpAfter);
        var firstMeasured = schedule.CountBefore(measureStart);
        var total = schedule.CountBefore(measureEnd);

        long next = 0;
        long capDelayed = 0;
        var capLastFullAt = long.MinValue;
        while (next < total)
        {
            var due = schedule.SendTime(next);
            var now = time.GetTimestamp();
            if (now < due)
            {
                await _pacer.WaitUntilAsync(due, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (inFlight.Count >= maxOutstanding)
            {
                capLastFullAt = now;
                if (now >= giveUpAt)
                {
                    break;
                }

                await _pacer.WaitUntilAsync(time.Add(now, CapPollInterval), cancellationToken).ConfigureAwait(false);
                continue;
            }

            var measured = next >= firstMeasured;
            if (measured)
            {
                recorder.RecordScheduleLag(due, now);
                if (due <= capLastFullAt)
                {
                    // It was due while the cap was full, so it went out late because of the cap.
                    capDelayed++;
                }
            }

            Fire(new Send(this, source, recorder, inFlight, due, measured));
            next++;
        }

        await inFlight.DrainAsync().ConfigureAwait(false);
        var unsent = total - Math.Max(next, firstMeasured);
        return recorder.Complete(measureStart, duration, rate, total - firstMeasured, capDelayed, unsent);
    }

    private void Fire(Send send)
    {
        send.InFlight.Enter();
        if (dispatch == OpenLoopDispatch.Inline)
        {
            _ = SendAndRecordAsync(send);
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Runner.SendAndRecordAsync(s), send, preferLocal: false);
    }

    private async Task SendAndRecordAsync(Send send)
    {
        try
        {
            var outcome = await sender.SendAsync(send.Source).ConfigureAwait(false);
            if (send.Measured)
            {
                send.Recorder.Record(outcome, send.Due, time.GetTimestamp());
            }
        }
        catch (Exception exception)
        {
            send.InFlight.Fault(exception);
        }
        finally
        {
            send.InFlight.Exit();
        }
    }

    private sealed record Send(OpenLoopRunner Runner, RequestSource Source, RunRecorder Recorder, InFlight InFlight, long Due, bool Measured);

    /// <summary>Requests in flight, and a signal for when the last one ends after scheduling has stopped.</summary>
    private sealed class InFlight
    {
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;
        private int _schedulingDone;
        private Exception? _fault;

        public int Count => Volatile.Read(ref _count);

        public void Enter() => Interlocked.Increment(ref _count);

        public void Exit()
        {
            if (Interlocked.Decrement(ref _count) == 0 && Volatile.Read(ref _schedulingDone) == 1)
            {
                _drained.TrySetResult();
            }
        }

        public void Fault(Exception exception) => Interlocked.CompareExchange(ref _fault, exception, null);

        public async Task DrainAsync()
        {
            Interlocked.Exchange(ref _schedulingDone, 1);
            if (Volatile.Read(ref _count) == 0)
            {
                _drained.TrySetResult();
            }

            await _drained.Task.ConfigureAwait(false);
            if (_fault is { } fault)
            {
                ExceptionDispatchInfo.Throw(fault);
            }
        }
    }
}
