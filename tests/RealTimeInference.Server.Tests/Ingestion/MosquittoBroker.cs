using System.Diagnostics;

namespace RealTimeInference.Server.Tests.Ingestion;

/// <summary>
/// Debian's Mosquitto for a test class: its own config, persistence folder and loopback port,
/// started by <see cref="InitializeAsync"/> and stopped by <see cref="DisposeAsync"/>. Sessions and
/// their queued QoS 1 messages are saved when it stops, so a restart keeps them.
/// </summary>
public sealed class MosquittoBroker : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-mosquitto-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public int Port { get; } = RealServer.FreePort();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        await File.WriteAllTextAsync(Path.Combine(_folder, "mosquitto.conf"), string.Join('\n',
            $"listener {Port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            $"persistence_location {_folder}/",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            // Run as the user who started it (root in CI), so it can write its folder.
            Environment.IsPrivilegedProcess ? "user root" : "",
            ""));
        await StartAsync();
    }

    /// <summary>Starts the broker (again, after <see cref="StopAsync"/>, with the sessions it saved) and waits for its port.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("/usr/sbin/mosquitto") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Path.Combine(_folder, "mosquitto.conf"));
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var waited = Stopwatch.StartNew();
        while (!await RealServer.AcceptsAsync(Port))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30) && !_process.HasExited, "Mosquitto never opened its port.");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the broker with SIGTERM: it saves its sessions and exits.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            _ = Kill(process.Id, 15);
            await process.WaitForExitAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

}
