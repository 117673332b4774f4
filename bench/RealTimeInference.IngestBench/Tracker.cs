using System.Diagnostics;
using System.Globalization;

namespace RealTimeInference.IngestBench;

/// <summary>What one run measured; latencies in milliseconds (NaN where nothing came back).</summary>
internal sealed record RunResult(
    int Messages,
    int Received,
    int Duplicates,
    int Strays,
    int PublishErrors,
    double Seconds,
    double ReadingsPerSecond,
    double MessagesPerSecond,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double ScheduledP50Ms,
    double ScheduledP99Ms,
    IReadOnlyDictionary<string, double> CpuCores)
{
    public bool Complete => Received == Messages;
}

/// <summary>
/// One run's messages, by sequence number: when each was due and sent, when its first result came
/// back (a redelivered message's second result is a duplicate, a result of another run a stray), and
/// whether all have.
/// </summary>
internal sealed class Tracker(string prefix, int messages)
{
    private readonly long[] _due = new long[messages];
    private readonly long[] _sent = new long[messages];
    private readonly long[] _received = new long[messages];
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _distinct, _duplicates, _strays;

    public int Messages => messages;

    public int Distinct => Volatile.Read(ref _distinct);

    /// <summary>Completes when every message has a result.</summary>
    public Task All => _all.Task;

    public string Id(int seq) => prefix + seq.ToString(CultureInfo.InvariantCulture);

    /// <summary>Message <paramref name="seq"/> goes out now; it was due at <paramref name="due"/> (a Stopwatch timestamp).</summary>
    public void Sent(int seq, long due)
    {
        _due[seq] = due;
        _sent[seq] = Stopwatch.GetTimestamp();
    }

    /// <summary>A result arrived carrying <paramref name="messageId"/>.</summary>
    public void Received(string? messageId)
    {
        var now = Stopwatch.GetTimestamp();
        if (messageId is null
            || !messageId.StartsWith(prefix, StringComparison.Ordinal)
            || !int.TryParse(messageId.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || (uint)seq >= (uint)messages)
        {
            Interlocked.Increment(ref _strays);
            return;
        }

        if (Interlocked.CompareExchange(ref _received[seq], now, 0) != 0)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        if (Interlocked.Increment(ref _distinct) == messages)
        {
            _all.TrySetResult();
        }
    }

    /// <summary>Rates from the first publish to the last result; latencies from each send (and each due time) to its result.</summary>
    public RunResult Result(int readingsPerMessage, int publishErrors, IReadOnlyDictionary<string, double> cpuCores)
    {
        var latencies = new List<double>(messages);
        var scheduled = new List<double>(messages);
        var last = 0L;
        for (var i = 0; i < messages; i++)
        {
            var received = Volatile.Read(ref _received[i]);
            if (received == 0)
            {
                continue;
            }

            last = Math.Max(last, received);
            latencies.Add(Milliseconds(received - _sent[i]));
            scheduled.Add(Milliseconds(received - _due[i]));
        }

        var seconds = last == 0 ? double.NaN : Milliseconds(last - _sent[0]) / 1000;
        var distinct = Distinct;
        latencies.Sort();
        scheduled.Sort();
        return new RunResult(
            messages,
            distinct,
            Volatile.Read(ref _duplicates),
            Volatile.Read(ref _strays),
            publishErrors,
            seconds,
            distinct * (double)readingsPerMessage / seconds,
            distinct / seconds,
            Stats.Percentile(latencies, 0.50),
            Stats.Percentile(latencies, 0.99),
            latencies.Count == 0 ? double.NaN : latencies[^1],
            Stats.Percentile(scheduled, 0.50),
            Stats.Percentile(scheduled, 0.99),
            cpuCores);
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
