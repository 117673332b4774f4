namespace RealTimeInference.LoadTest.Runners;

internal static class Timestamps
{
    public static long Add(this TimeProvider time, long timestamp, TimeSpan span) =>
        timestamp + (long)Math.Round(span.TotalSeconds * time.TimestampFrequency);

    public static long ToMicroseconds(this TimeProvider time, long start, long end) =>
        Math.Max(0, time.GetElapsedTime(start, end).Ticks / TimeSpan.TicksPerMicrosecond);
}
