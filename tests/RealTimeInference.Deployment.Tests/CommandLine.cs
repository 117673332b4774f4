using System.Collections.Concurrent;
using System.Diagnostics;

namespace RealTimeInference.Deployment.Tests;

/// <summary>Runs a tool of the machine (docker-compose, kubectl) to its end and keeps what it wrote.</summary>
internal static class CommandLine
{
    public static Task<CommandResult> RunAsync(string fileName, params string[] arguments) =>
        RunAsync(TimeSpan.FromMinutes(1), fileName, arguments);

    /// <summary>The same, failing when it takes longer than <paramref name="within"/>.</summary>
    public static async Task<CommandResult> RunAsync(TimeSpan within, string fileName, params string[] arguments)
    {
        using var process = Start(fileName, arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(within);
        await process.WaitForExitAsync(timeout.Token);
        return new CommandResult(process.ExitCode, await output, await errors);
    }

    /// <summary>
    /// Starts a server and reads what it logs (both streams) until a line says it is up, then ends
    /// it; fails with the log when it exits first or stays silent for 15 s.
    /// </summary>
    public static async Task<string> RunUntilAsync(string fileName, Func<string, bool> up, params string[] arguments)
    {
        using var process = Start(fileName, arguments);
        var log = new ConcurrentQueue<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Read(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                log.Enqueue(line);
                if (up(line))
                {
                    ready.TrySetResult();
                }
            }
        }

        process.OutputDataReceived += Read;
        process.ErrorDataReceived += Read;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(15)));
            Assert.True(first == ready.Task, $"{fileName} did not come up ({(exited.IsCompleted ? $"exited {process.ExitCode}" : "no sign in 15 s")}):\n{string.Join('\n', log)}");
            return string.Join('\n', log);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    private static Process Start(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
    }
}

internal sealed record CommandResult(int ExitCode, string Output, string Errors)
{
    /// <summary>Standard output of a run that exited 0; otherwise fails with what the tool said.</summary>
    public string Succeeded(string what)
    {
        Assert.True(ExitCode == 0, $"{what} exited {ExitCode}:\n{Errors}\n{Output}");
        return Output;
    }
}
