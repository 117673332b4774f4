using System.Numerics;

namespace RealTimeInference.Inference.Monitoring;

/// <summary>
/// Lock-free log-linear histogram of microsecond values: exact below 128 µs, then 64 buckets per
/// power of two (under 1.6 % relative error), so recording is one increment and a percentile is
/// one pass over a fixed array — no sorting per request.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int LinearBuckets = 128;
    private const int SubBucketBits = 6;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int MaxMsb = 40; // 2^40 µs is about 12 days: anything longer is clamped.

    public const int BucketCount = LinearBuckets + ((MaxMsb - SubBucketBits) * SubBuckets);

    private readonly long[] _counts = new long[BucketCount];

    public static int IndexOf(long micros)
    {
        if (micros < LinearBuckets)
        {
            return micros < 0 ? 0 : (int)micros;
        }

        micros = Math.Min(micros, (1L << MaxMsb) - 1);
        var msb = 63 - BitOperations.LeadingZeroCount((ulong)micros);
        var shift = msb - SubBucketBits;
        var sub = (int)(micros >> shift) - SubBuckets;
        return LinearBuckets + ((shift - 1) * SubBuckets) + sub;
    }

    /// <summary>The middle of a bucket's range, in microseconds.</summary>
    public static double ValueOf(int index)
    {
        if (index < LinearBuckets)
        {
            return index;
        }

        var shift = ((index - LinearBuckets) / SubBuckets) + 1;
        var sub = ((index - LinearBuckets) % SubBuckets) + SubBuckets;
        var lower = (long)sub << shift;
        return lower + ((1L << shift) / 2.0);
    }

    public void Record(long micros) => Interlocked.Increment(ref _counts[IndexOf(micros)]);

    public void Clear() => Array.Clear(_counts);

    public void AddTo(long[] totals)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            totals[i] += Volatile.Read(ref _counts[i]);
        }
    }

    /// <summary>Nearest-rank percentile (0 &lt; p ≤ 100) of bucket counts, in microseconds.</summary>
    public static double Percentile(long[] counts, long total, double percentile)
    {
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return ValueOf(i);
            }
        }

        return ValueOf(counts.Length - 1);
    }
}
