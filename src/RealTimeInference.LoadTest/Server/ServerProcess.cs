using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RealTimeInference.LoadTest.Server;

/// <summary>
/// A server the load test starts itself: <c>/bin/sh -c "exec CMD"</c> so the shell is replaced and the
/// process id is the server's own, output appended to a log file by the shell (no pipe to drain).
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;

    private ServerProcess(Process process, string logPath)
    {
        _process = process;
        LogPath = logPath;
    }

    public int Id => _process.Id;

    public string LogPath { get; }

    public bool HasExited => _process.HasExited;

    public static ServerProcess Start(string command, string logPath)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec {command} >>{ShellQuote(logPath)} 2>&1");
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start: {command}");
        return new ServerProcess(process, logPath);
    }

    /// <summary>SIGTERM, as <c>kill -TERM</c> would send, then a bounded wait; SIGKILL only if it will not stop.</summary>
    public async Task<(TimeSpan Elapsed, int? ExitCode)> StopAsync(TimeSpan grace)
    {
        var watch = Stopwatch.StartNew();
        if (_process.HasExited)
        {
            return (TimeSpan.Zero, _process.ExitCode);
        }

        _ = Kill(_process.Id, SigTerm);
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            return (watch.Elapsed, _process.ExitCode);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            return (watch.Elapsed, null);
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public string LogTail(int lines)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join(Environment.NewLine, all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    internal static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
