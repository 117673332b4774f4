using System.Diagnostics;

namespace RealTimeInference.Server.Tests.Ingestion;

/// <summary>
/// Debian's RabbitMQ for a test class: its own node name, ports (AMQP, distribution, epmd), data, log,
/// plugins, feature flags and config in a temporary folder owned by the <c>rabbitmq</c> user (the
/// package's script switches to it), started by <see cref="InitializeAsync"/> (about 6 s) and stopped
/// by <see cref="DisposeAsync"/> with its own epmd, so nothing outlives the tests.
/// </summary>
public sealed class RabbitMqBroker : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-rabbitmq-" + Guid.NewGuid().ToString("N"));
    private readonly string _node = "rti-" + Guid.NewGuid().ToString("N")[..8] + "@localhost";
    private readonly int _epmdPort = RealServer.FreePort();
    private readonly int _distPort = RealServer.FreePort();
    private readonly List<Process> _started = [];
    private bool _running;

    public int Port { get; } = RealServer.FreePort();

    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "mnesia"));
        Directory.CreateDirectory(Path.Combine(_folder, "log"));
        await File.WriteAllTextAsync(Path.Combine(_folder, "rabbitmq.conf"), $"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{Port}\n");
        await File.WriteAllTextAsync(Path.Combine(_folder, "enabled_plugins"), "[].\n");
        await RunAsync("/bin/chown", ["-R", "rabbitmq:rabbitmq", _folder]);
        await StartAsync();
    }

    /// <summary>Starts the broker (again, after <see cref="StopAsync"/>: durable queues and persistent messages survive) and waits for its AMQP port.</summary>
    public async Task StartAsync()
    {
        var start = Info("/usr/sbin/rabbitmq-server");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = Process.Start(start)!;
        _started.Add(process);
        _running = true;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var waited = Stopwatch.StartNew();
        while (!await RealServer.AcceptsAsync(Port))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited, "RabbitMQ never opened its port.");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the node as an operator would (connections are closed) and waits until it is gone, so that it can be started again.</summary>
    public async Task StopAsync()
    {
        _running = false;
        await RunAsync("/usr/sbin/rabbitmqctl", ["-n", _node, "stop"]);
        var waited = Stopwatch.StartNew();
        while (_started.Any(p => !p.HasExited))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "RabbitMQ never stopped.");
            await Task.Delay(50);
        }
    }

    /// <summary>The messages in <paramref name="queue"/>, ready and unacknowledged together (AMQP's passive declare counts only the ready ones).</summary>
    public async Task<long> MessagesAsync(string queue)
    {
        var listed = await RunAsync("/usr/sbin/rabbitmqctl", ["-n", _node, "-q", "list_queues", "--no-table-headers", "name", "messages"]);
        foreach (var line in listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.Split('\t') is [var name, var messages] && name == queue)
            {
                return long.Parse(messages, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"No queue {queue} in:\n{listed}");
    }

    public async Task DisposeAsync()
    {
        try
        {
            // A test that failed while the broker was stopped leaves nothing to stop.
            if (_running)
            {
                await StopAsync();
            }
        }
        finally
        {
            await RunAsync("/usr/bin/epmd", ["-kill"], check: false);
            foreach (var process in _started)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync();
                process.Dispose();
            }

            Directory.Delete(_folder, recursive: true);
        }
    }

    private ProcessStartInfo Info(string program)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = _folder };
        foreach (var (name, value) in Environment())
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private (string, string)[] Environment() =>
    [
        ("RABBITMQ_NODE_PORT", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("RABBITMQ_DIST_PORT", _distPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("RABBITMQ_NODENAME", _node),
        ("RABBITMQ_MNESIA_BASE", Path.Combine(_folder, "mnesia")),
        ("RABBITMQ_LOG_BASE", Path.Combine(_folder, "log")),
        ("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(_folder, "enabled_plugins")),
        ("RABBITMQ_FEATURE_FLAGS_FILE", Path.Combine(_folder, "feature_flags")),
        ("RABBITMQ_CONFIG_FILE", Path.Combine(_folder, "rabbitmq")),
        ("ERL_EPMD_PORT", _epmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    private async Task<string> RunAsync(string program, string[] arguments, bool check = true)
    {
        var start = Info(program);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await errors}");
        }

        return await output;
    }

}
