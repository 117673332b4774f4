namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Waits until a timestamp. On the system clock, timers fire up to a millisecond late, which open-loop latency
/// (timed from the schedule) would absorb; so the last stretch is slept with nanosleep. It never spins: at
/// tens of thousands of sends a second a spinning pacer would take a whole core from the server it measures.
/// nanosleep overshoots by the kernel's timer slack (about 50 µs); sends that fall due meanwhile go out at once
/// and that lateness is counted in their latency. Any other <see cref="TimeProvider"/> (tests) gets plain timer waits.
/// </summary>
internal sealed class Pacer(TimeProvider time)
{
    private static readonly TimeSpan FineWindow = TimeSpan.FromMilliseconds(1.5);

    private readonly bool _precise = ReferenceEquals(time, TimeProvider.System);

    public async ValueTask WaitUntilAsync(long due, CancellationToken cancellationToken)
    {
        var remaining = Remaining(due);
        if (!_precise)
        {
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, time, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (remaining > FineWindow)
        {
            await Task.Delay(remaining - FineWindow, time, cancellationToken).ConfigureAwait(false);
        }

        while ((remaining = Remaining(due)) > TimeSpan.Zero)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (PreciseSleep.IsSupported)
            {
                PreciseSleep.For(remaining);
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
    }

    private TimeSpan Remaining(long due)
    {
        var now = time.GetTimestamp();
        return now >= due ? TimeSpan.Zero : time.GetElapsedTime(now, due);
    }
}
