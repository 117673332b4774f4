using System.Globalization;
using RealTimeInference.LoadTest.Reporting;

namespace RealTimeInference.LoadTest.Server;

/// <summary>Samples VmRSS of one process from <c>/proc/PID/status</c> until stopped.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly Func<long?> _read;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private long? _startKb;
    private long _maxKb;
    private long _lastKb;
    private int _samples;

    private RssSampler(Func<long?> read, TimeSpan interval, TimeProvider time)
    {
        _read = read;
        Sample();
        _loop = LoopAsync(interval, time);
    }

    public static RssSampler Start(int pid, TimeSpan interval, TimeProvider time) =>
        new(() => ReadKb(pid), interval, time);

    internal static RssSampler Start(Func<long?> read, TimeSpan interval, TimeProvider time) => new(read, interval, time);

    /// <summary>Takes a last sample and summarizes; null when the process could never be read.</summary>
    public async Task<RssSummary?> StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            Sample();
        }

        lock (_gate)
        {
            return _startKb is { } start
                ? new RssSummary(Mb(start), Mb(_maxKb), Mb(_lastKb), _samples)
                : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Reads the <c>VmRSS:</c> line (kB) of a <c>/proc/PID/status</c> text.</summary>
    public static long? ParseVmRssKb(string status)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                continue;
            }

            var value = line["VmRSS:".Length..].Trim();
            var space = value.IndexOf(' ');
            var number = space < 0 ? value : value[..space];
            return long.TryParse(number, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : null;
        }

        return null;
    }

    private static long? ReadKb(int pid)
    {
        try
        {
            return ParseVmRssKb(File.ReadAllText($"/proc/{pid}/status"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static double Mb(long kb) => Math.Round(kb / 1024.0, 1);

    private async Task LoopAsync(TimeSpan interval, TimeProvider time)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping is the normal way out.
        }
    }

    private void Sample()
    {
        if (_read() is not { } kb)
        {
            return;
        }

        lock (_gate)
        {
            _startKb ??= kb;
            _maxKb = Math.Max(_maxKb, kb);
            _lastKb = kb;
            _samples++;
        }
    }
}
