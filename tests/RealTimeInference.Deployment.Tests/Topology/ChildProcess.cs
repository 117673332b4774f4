using System.Diagnostics;

namespace RealTimeInference.Deployment.Tests.Topology;

/// <summary>A process the tests started, its output in a log file; the whole tree is killed on dispose.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly StreamWriter _log;
    private readonly Lock _write = new();
    private bool _closed;

    private ChildProcess(Process process, string logPath)
    {
        Process = process;
        LogPath = logPath;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
    }

    public Process Process { get; }

    public string LogPath { get; }

    public int Id => Process.Id;

    public bool HasExited => Process.HasExited;

    public static ChildProcess Start(ProcessStartInfo start, string logPath)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + start.FileName);
        var child = new ChildProcess(process, logPath);
        process.OutputDataReceived += (_, line) => child.Write(line.Data);
        process.ErrorDataReceived += (_, line) => child.Write(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>What starts <paramref name="file"/> with <paramref name="arguments"/>, each passed as is.</summary>
    public static ProcessStartInfo Command(string file, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory ?? "" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, QUIT, ...) as <c>kill</c> does.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {Process.Id}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The last lines of its output, for a failure's message.</summary>
    public string Tail(int lines = 30)
    {
        lock (_write)
        {
            _log.Flush();
        }

        using var read = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(read);
        return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
    }

    private void Write(string? line)
    {
        lock (_write)
        {
            if (line is not null && !_closed)
            {
                _log.WriteLine(line);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }

        Process.Dispose();
        lock (_write)
        {
            _closed = true;
            _log.Dispose();
        }
    }
}
