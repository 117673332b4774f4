using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace RealTimeInference.OipBench;

/// <summary>What one request came to: a success, a refusal (HTTP non-2xx, gRPC non-OK) or an error (an exception, a malformed answer).</summary>
internal readonly record struct Outcome(bool Ok, string? Refusal, string? Error)
{
    public static readonly Outcome Success = new(true, null, null);

    public static Outcome Refused(string status) => new(false, status, null);

    public static Outcome Failed(string error) => new(false, null, error);
}

/// <summary>
/// One case: its name, rows a request, workers, the baseline it is compared with, and how to send
/// request <c>i</c>. With <paramref name="Rate"/> it runs open loop: request <c>i</c> is due at
/// i / rate seconds, and its latency counts from then (a late answer delays nothing it does not measure).
/// </summary>
internal sealed record BenchCase(string Name, int Rows, int Workers, string Baseline, Func<int, CancellationToken, Task<Outcome>> SendAsync, double? Rate = null);

/// <summary>One measured run of a case.</summary>
internal sealed record RunResult(
    int Repeat,
    long Requests,
    double ElapsedS,
    double RequestsPerS,
    double ReadingsPerS,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    long Refused,
    long Errors,
    IReadOnlyDictionary<string, long> Refusals,
    IReadOnlyDictionary<string, long> ErrorKinds,
    double ServerCores,
    double BenchCores);

/// <summary>A closed loop: <c>workers</c> tasks, each sending its next request when the last one answers; a warm-up, then the measured window.</summary>
internal static class Runner
{
    private const long HighestMicros = 120_000_000;

    /// <summary>The server's CPU seconds and the bench's processor time once <paramref name="after"/> has passed: when the measured window opens.</summary>
    private static async Task<(double Server, TimeSpan Bench)> CpuAfterAsync(TimeSpan after, int? serverPid, CancellationToken cancellationToken)
    {
        await Task.Delay(after, cancellationToken);
        return (ProcessCpuSeconds(serverPid), Process.GetCurrentProcess().TotalProcessorTime);
    }

    public static async Task<RunResult> RunAsync(BenchCase bench, int repeat, TimeSpan warmup, TimeSpan duration, int? serverPid, CancellationToken cancellationToken)
    {
        var frequency = (double)Stopwatch.Frequency;
        var origin = Stopwatch.GetTimestamp();
        var measureFrom = origin + (long)(warmup.TotalSeconds * frequency);
        var end = measureFrom + (long)(duration.TotalSeconds * frequency);
        var windowOpened = CpuAfterAsync(warmup, serverPid, cancellationToken);

        var workers = Enumerable.Range(0, bench.Workers).Select(w => Task.Run(() => WorkerAsync(bench, w, origin, measureFrom, end, cancellationToken), cancellationToken)).ToArray();
        var results = await Task.WhenAll(workers);
        var lastAnswer = Math.Max(end, results.Max(r => r.LastAnswer));
        var (serverBefore, benchBefore) = await windowOpened;
        var elapsed = (lastAnswer - measureFrom) / frequency;
        var serverCores = serverPid is null ? double.NaN : (ProcessCpuSeconds(serverPid) - serverBefore) / elapsed;
        var benchCores = (Process.GetCurrentProcess().TotalProcessorTime - benchBefore).TotalSeconds / elapsed;

        var histogram = new LongHistogram(HighestMicros, 3);
        var refusals = new Dictionary<string, long>(StringComparer.Ordinal);
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        long ok = 0;
        foreach (var result in results)
        {
            histogram.Add(result.Histogram);
            ok += result.Ok;
            Merge(refusals, result.Refusals);
            Merge(errors, result.Errors);
        }

        var refused = refusals.Values.Sum();
        var failed = errors.Values.Sum();
        return new RunResult(
            repeat,
            ok + refused + failed,
            elapsed,
            ok / elapsed,
            ok * (double)bench.Rows / elapsed,
            ok == 0 ? double.NaN : histogram.GetValueAtPercentile(50) / 1000.0,
            ok == 0 ? double.NaN : histogram.GetValueAtPercentile(99) / 1000.0,
            ok == 0 ? double.NaN : histogram.GetMaxValue() / 1000.0,
            refused,
            failed,
            refusals,
            errors,
            serverCores,
            benchCores);
    }

    private static async Task<WorkerResult> WorkerAsync(BenchCase bench, int worker, long origin, long measureFrom, long end, CancellationToken cancellationToken)
    {
        var result = new WorkerResult(new LongHistogram(HighestMicros, 3));
        var frequency = (double)Stopwatch.Frequency;
        for (var i = worker; !cancellationToken.IsCancellationRequested; i += bench.Workers)
        {
            var started = Stopwatch.GetTimestamp();
            if (bench.Rate is { } rate)
            {
                // Open loop: wait for the request's slot; its latency counts from the slot, not from a late send.
                var due = origin + (long)(i / rate * frequency);
                if (due > started)
                {
                    await Task.Delay(TimeSpan.FromSeconds((due - started) / frequency), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }

                started = due;
            }

            if (started >= end || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            Outcome outcome;
            try
            {
                outcome = await bench.SendAsync(i, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                outcome = Outcome.Failed(e.GetType().Name + ": " + FirstLine(e.Message));
            }

            var answered = Stopwatch.GetTimestamp();
            if (started < measureFrom)
            {
                continue;
            }

            result.LastAnswer = answered;
            if (outcome.Ok)
            {
                result.Ok++;
                var micros = (long)((answered - started) / frequency * 1_000_000);
                result.Histogram.RecordValue(Math.Clamp(micros, 1, HighestMicros));
            }
            else if (outcome.Refusal is { } refusal)
            {
                result.Refusals[refusal] = result.Refusals.GetValueOrDefault(refusal) + 1;
            }
            else
            {
                var error = outcome.Error ?? "unknown";
                result.Errors[error] = result.Errors.GetValueOrDefault(error) + 1;
            }
        }

        return result;
    }

    private static void Merge(Dictionary<string, long> into, Dictionary<string, long> from)
    {
        foreach (var (key, count) in from)
        {
            into[key] = into.GetValueOrDefault(key) + count;
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0];
        return line.Length > 160 ? line[..160] : line;
    }

    /// <summary>utime + stime of a process from /proc (Linux), in seconds; NaN when unknown.</summary>
    private static double ProcessCpuSeconds(int? pid)
    {
        if (pid is null)
        {
            return double.NaN;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields after the command: state is [0], utime [11], stime [12], in clock ticks (100 a second on Linux).
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private sealed class WorkerResult(LongHistogram histogram)
    {
        public LongHistogram Histogram { get; } = histogram;

        public long Ok { get; set; }

        public long LastAnswer { get; set; }

        public Dictionary<string, long> Refusals { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);
    }
}
