namespace RealTimeInference.LoadTest.Runners;

/// <summary>
/// Send times of a constant-rate arrival process: request <c>i</c> is due at <c>start + i / rate</c>,
/// computed from <c>i</c> each time so rounding never accumulates into drift.
/// </summary>
internal readonly record struct OpenLoopSchedule(long Start, double Rate, long Frequency)
{
    public long SendTime(long index) => Start + (long)Math.Round(index * (double)Frequency / Rate);

    /// <summary>How many requests are due strictly before <paramref name="end"/>.</summary>
    public long CountBefore(long end)
    {
        if (end <= Start)
        {
            return 0;
        }

        var count = (long)Math.Ceiling((end - Start) * Rate / Frequency);
        while (count > 0 && SendTime(count - 1) >= end)
        {
            count--;
        }

        while (SendTime(count) < end)
        {
            count++;
        }

        return count;
    }
}
