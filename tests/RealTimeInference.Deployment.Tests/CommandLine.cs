using System.Diagnostics;

namespace RealTimeInference.Deployment.Tests;

/// <summary>Runs a tool of the machine (docker-compose, kubectl) to its end and keeps what it wrote.</summary>
internal static class CommandLine
{
    public static async Task<CommandResult> RunAsync(string fileName, params string[] arguments)
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return new CommandResult(process.ExitCode, await output, await errors);
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
