using HdrHistogram;
using RealTimeInference.LoadTest.Http;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Runners;

/// <summary>Thread-safe sink for the measured requests of one run: latency histogram, status counts, schedule lag.</summary>
internal sealed class RunRecorder(TimeProvider time)
{
    private const long HighestMicroseconds = 3_600_000_000;

    private readonly LongConcurrentHistogram _latency = new(1, HighestMicroseconds, 3);
    private readonly LongConcurrentHistogram _okLatency = new(1, HighestMicroseconds, 3);
    private readonly LongConcurrentHistogram _scheduleLag = new(1, HighestMicroseconds, 3);
    private long _ok;
    private long _clientErrors;
    private long _rateLimited;
    private long _unavailable;
    private long _serverErrors;
    private long _otherStatus;
    private long _timeouts;
    private long _transportErrors;
    private long _lastCompletion = long.MinValue;

    /// <summary>
    /// Latency runs from <paramref name="start"/> (the scheduled send time in open loop, the actual send in
    /// closed loop) to the end of the response body; only requests that got a response are timed.
    /// </summary>
    public void Record(RequestOutcome outcome, long start, long end)
    {
        UpdateLastCompletion(end);
        switch (outcome.Kind)
        {
            case OutcomeKind.Timeout:
                Interlocked.Increment(ref _timeouts);
                return;
            case OutcomeKind.TransportError:
                Interlocked.Increment(ref _transportErrors);
                return;
        }

        var micros = Math.Min(time.ToMicroseconds(start, end), HighestMicroseconds);
        _latency.RecordValue(micros);
        if (outcome.StatusCode is >= 200 and < 300)
        {
            _okLatency.RecordValue(micros);
        }

        Interlocked.Increment(ref Counter(outcome.StatusCode));
    }

    public void RecordScheduleLag(long due, long sent) =>
        _scheduleLag.RecordValue(Math.Min(time.ToMicroseconds(due, sent), HighestMicroseconds));

    /// <summary>Summarizes the run; <paramref name="scheduled"/> is null in closed loop, where it is the requests made.</summary>
    public RunMeasurement Complete(long measureStart, TimeSpan duration, double? offeredRps, long? scheduled, long capDelayed, long unsent)
    {
        var last = Interlocked.Read(ref _lastCompletion);
        var seconds = duration.TotalSeconds;
        if (last > measureStart)
        {
            seconds = Math.Max(seconds, time.GetElapsedTime(measureStart, last).TotalSeconds);
        }

        var counts = new StatusCounts(
            Interlocked.Read(ref _ok),
            Interlocked.Read(ref _clientErrors),
            Interlocked.Read(ref _rateLimited),
            Interlocked.Read(ref _unavailable),
            Interlocked.Read(ref _serverErrors),
            Interlocked.Read(ref _otherStatus),
            Interlocked.Read(ref _timeouts),
            Interlocked.Read(ref _transportErrors));
        var lag = offeredRps is null ? null : LatencySummary.FromMicroseconds(_scheduleLag);
        return new RunMeasurement(seconds, offeredRps, LatencySummary.FromMicroseconds(_latency), lag, counts, scheduled ?? counts.Total, capDelayed, unsent)
        {
            OkLatency = LatencySummary.FromMicroseconds(_okLatency),
        };
    }

    private ref long Counter(int status)
    {
        switch (status)
        {
            case >= 200 and < 300:
                return ref _ok;
            case 429:
                return ref _rateLimited;
            case >= 400 and < 500:
                return ref _clientErrors;
            case 503:
                return ref _unavailable;
            case >= 500 and < 600:
                return ref _serverErrors;
            default:
                return ref _otherStatus;
        }
    }

    private void UpdateLastCompletion(long end)
    {
        var seen = Interlocked.Read(ref _lastCompletion);
        while (end > seen)
        {
            var previous = Interlocked.CompareExchange(ref _lastCompletion, end, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
