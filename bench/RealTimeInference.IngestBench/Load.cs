using System.Diagnostics;
using System.Globalization;

namespace RealTimeInference.IngestBench;

/// <summary>A broker path: messages in, results (or the messages themselves, for the broker-only baseline) out.</summary>
internal interface ITarget : IAsyncDisposable
{
    int ReadingsPerMessage { get; }

    /// <summary>Before a run: results go to <paramref name="tracker"/> from now on; what an earlier run left is dropped.</summary>
    Task PrepareAsync(Tracker tracker, CancellationToken cancellationToken);

    /// <summary>Publishes message <paramref name="seq"/>; completes once the broker has taken it (confirm, PUBACK).</summary>
    Task PublishAsync(int seq, string messageId, CancellationToken cancellationToken);
}

/// <summary>Sends a run's messages: as fast as <c>inFlight</c> unconfirmed publishes allow (rate 0), or on a schedule of <c>rate</c> a second (open loop).</summary>
internal static class Load
{
    public static async Task<RunResult> RunAsync(
        ITarget target, Tracker tracker, int inFlight, double rate, TimeSpan stall, CpuSampler cpu, CancellationToken cancellationToken)
    {
        await target.PrepareAsync(tracker, cancellationToken).ConfigureAwait(false);
        using var window = new SemaphoreSlim(inFlight);
        var errors = 0;
        string? firstError = null;
        var pending = new List<Task>(tracker.Messages);
        cpu.Start();
        var start = Stopwatch.GetTimestamp();
        var interval = rate > 0 ? Stopwatch.Frequency / rate : 0;
        for (var seq = 0; seq < tracker.Messages; seq++)
        {
            var due = start + (long)(seq * interval);
            while (rate > 0 && Stopwatch.GetTimestamp() < due)
            {
                // Timer granularity (about a millisecond): whatever fell due meanwhile goes out together.
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }

            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            tracker.Sent(seq, rate > 0 ? due : Stopwatch.GetTimestamp());
            pending.Add(PublishOneAsync(seq));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        await WaitForResultsAsync(tracker, stall, cancellationToken).ConfigureAwait(false);
        var cores = cpu.Stop();
        if (firstError is not null)
        {
            Console.Error.WriteLine($"  {errors} publishes failed; the first: {firstError}");
        }

        return tracker.Result(target.ReadingsPerMessage, errors, cores);

        async Task PublishOneAsync(int seq)
        {
            try
            {
                await target.PublishAsync(seq, tracker.Id(seq), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstError, ex.GetType().Name + ": " + ex.Message, null);
            }
            finally
            {
                window.Release();
            }
        }
    }

    /// <summary>Waits for every result, giving up once none has come for <paramref name="stall"/>.</summary>
    private static async Task WaitForResultsAsync(Tracker tracker, TimeSpan stall, CancellationToken cancellationToken)
    {
        var seen = -1;
        var quiet = Stopwatch.StartNew();
        while (!tracker.All.IsCompleted)
        {
            await Task.WhenAny(tracker.All, Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (tracker.Distinct != seen)
            {
                seen = tracker.Distinct;
                quiet.Restart();
            }
            else if (quiet.Elapsed > stall)
            {
                Console.Error.WriteLine($"  stalled: {seen} of {tracker.Messages} results after {stall.TotalSeconds:0} s without progress");
                return;
            }
        }
    }
}

/// <summary>
/// CPU of the named processes and of this one over a run, in cores (1.0: one core busy all the
/// time), and of every other process on the machine (<c>others</c>), all from /proc/&lt;pid&gt;/stat.
/// </summary>
internal sealed class CpuSampler(IReadOnlyDictionary<string, int> pids)
{
    // Clock ticks a second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
    private const double TicksPerSecond = 100;
    private const string All = "all";
    private readonly Dictionary<string, double> _started = [];
    private long _startedAt;

    public void Start()
    {
        _startedAt = Stopwatch.GetTimestamp();
        _started.Clear();
        foreach (var (name, seconds) in Sample())
        {
            _started[name] = seconds;
        }
    }

    public Dictionary<string, double> Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        var cores = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, seconds) in Sample())
        {
            if (_started.TryGetValue(name, out var before))
            {
                cores[name] = (seconds - before) / wall;
            }
        }

        if (cores.Remove(All, out var all))
        {
            cores["others"] = all - cores.Values.Sum();
        }

        return cores.ToDictionary(c => c.Key, c => Math.Round(c.Value, 3), StringComparer.Ordinal);
    }

    private IEnumerable<(string Name, double Seconds)> Sample()
    {
        yield return ("bench", Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
        foreach (var (name, pid) in pids)
        {
            if (Times(pid.ToString(CultureInfo.InvariantCulture)) is { } times)
            {
                yield return (name, times.Own);
            }
        }

        // Every process's own time and that of its children it has waited for: what ran and ended
        // during the run is counted in its parent.
        var all = 0.0;
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(folder);
            if (name.Length > 0 && char.IsAsciiDigit(name[0]) && Times(name) is { } times)
            {
                all += times.Own + times.Children;
            }
        }

        yield return (All, all);
    }

    private static (double Own, double Children)? Times(string pid)
    {
        try
        {
            // Fields after the command's closing parenthesis, from the 3rd (state): utime, stime, cutime, cstime are the 14th to 17th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture) / TicksPerSecond;
            return (Field(11) + Field(12), Field(13) + Field(14));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone meanwhile.
            return null;
        }
    }
}
