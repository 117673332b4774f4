namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Waits until a timestamp. On the system clock timers fire up to a millisecond late, which open-loop
/// latency (timed from the schedule) would absorb, so the last stretch is spent yielding instead.
/// Any other <see cref="TimeProvider"/> (tests) gets plain timer waits.
/// </summary>
internal sealed class Pacer(TimeProvider time)
{
    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(1.5);

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

        if (remaining > SpinWindow)
        {
            await Task.Delay(remaining - SpinWindow, time, cancellationToken).ConfigureAwait(false);
        }

        while (time.GetTimestamp() < due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Thread.Yield();
        }
    }

    private TimeSpan Remaining(long due)
    {
        var now = time.GetTimestamp();
        return now >= due ? TimeSpan.Zero : time.GetElapsedTime(now, due);
    }
}
