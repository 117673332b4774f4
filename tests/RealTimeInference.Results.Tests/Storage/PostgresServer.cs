using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RealTimeInference.Results.Tests.Storage;

/// <summary>
/// A real PostgreSQL 15 (Debian's package) for a test class: a fresh cluster in a temporary folder,
/// on a free loopback port, started by <see cref="InitializeAsync"/> and deleted by
/// <see cref="DisposeAsync"/>. PostgreSQL will not run as root, so as root it runs as the
/// <c>postgres</c> user the package created. Durability settings are off: the tests check what the
/// store does, not the disk.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string Bin = "/usr/lib/postgresql/15/bin";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-postgres-" + Guid.NewGuid().ToString("N"));

    public int Port { get; } = FreePort();

    private string Data => Path.Combine(_folder, "data");

    /// <summary>A new empty database on this server, for one test (or one server under test).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "rti_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Timeout = 5 }.ToString();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        if (Environment.IsPrivilegedProcess)
        {
            await RunAsync("/bin/chown", "-R", "postgres:postgres", _folder);
        }

        await PgAsync("initdb", "-D", Data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8");
        await StartAsync();
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) and waits until it takes connections.</summary>
    public Task StartAsync() => PgAsync(
        "pg_ctl", "start", "-w", "-D", Data, "-l", Path.Combine(_folder, "postgres.log"),
        "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {_folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off");

    /// <summary>Stops the server as an operator would (fast shutdown: open connections are cut).</summary>
    public Task StopAsync() => PgAsync("pg_ctl", "stop", "-w", "-m", "fast", "-D", Data);

    public async Task DisposeAsync()
    {
        if (File.Exists(Path.Combine(Data, "postmaster.pid")))
        {
            await PgAsync("pg_ctl", "stop", "-w", "-m", "immediate", "-D", Data);
        }

        NpgsqlConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private Task PgAsync(string tool, params string[] arguments) =>
        Environment.IsPrivilegedProcess
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, tool), .. arguments])
            : RunAsync(Path.Combine(Bin, tool), arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await errors}");
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
