namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Waits until a timestamp. On the system clock, timers fire up to a millisecond late, which open-loop latency
/// (timed from the schedule) would absorb; so the last stretch is slept with nanosleep and the final tens of
/// microseconds spun. Any other <see cref="TimeProvider"/> (tests) gets plain timer waits.
/// </summary>
internal sealed class Pacer(TimeProvider time)
{
    private static readonly TimeSpan FineWindow = TimeSpan.FromMilliseconds(1.5);

    /// <summary>nanosleep overshoots by about the kernel's 50 µs timer slack; the remainder is spun.</summary>
    private static readonly TimeSpan SpinWindow = TimeSpan.FromMicroseconds(80);

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
            if (remaining > SpinWindow && PreciseSleep.IsSupported)
            {
                PreciseSleep.For(remaining - SpinWindow);
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
