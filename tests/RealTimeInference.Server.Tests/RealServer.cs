using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RealTimeInference.Server.Tests;

/// <summary>
/// The server as its own process on a free loopback port (real Kestrel, real signals), without
/// the in-server simulator, ready when started; killed on dispose if still running.
/// </summary>
internal sealed class RealServer : IDisposable
{
    private RealServer(Process process, Uri url, string results)
    {
        Process = process;
        Url = url;
        _results = results;
    }

    private readonly string _results;

    public Process Process { get; }

    public Uri Url { get; }

    /// <summary>What the server wrote to stdout and stderr (its JSON log lines), so far.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public static async Task<RealServer> StartAsync(params string[] settings)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort()}");
        // Its own results store, deleted with it.
        var results = Path.Combine(Path.GetTempPath(), "rti-results-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.dll"));
        foreach (var argument in new[] { "--urls", url.ToString(), "--Serilog:MinimumLevel:Default=Warning", "--Simulator:Enabled=false", "--Results:Path=" + Path.Combine(results, "results.db") }.Concat(settings))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var server = new RealServer(process, url, results);
        process.OutputDataReceived += (_, line) => server.Record(line.Data);
        process.ErrorDataReceived += (_, line) => server.Record(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = url };
        var ready = Stopwatch.StartNew();
        while (!await IsReadyAsync(client))
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(30) || process.HasExited)
            {
                server.Dispose();
                Assert.Fail("The server never became ready:\n" + string.Join("\n", server.Output.TakeLast(20)));
            }

            await Task.Delay(50);
        }

        return server;
    }

    private TaskCompletionSource _nextLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits until a line of the output matches (signalled by each new line, never polled); false once <paramref name="timeout"/> passed.</summary>
    public async Task<bool> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var next = Volatile.Read(ref _nextLine).Task;
            if (Output.Any(match))
            {
                return true;
            }

            try
            {
                await next.WaitAsync(timeout - deadline.Elapsed);
            }
            catch (Exception ex) when (ex is TimeoutException or ArgumentOutOfRangeException)
            {
                return Output.Any(match);
            }
        }
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            Output.Enqueue(line);
            Interlocked.Exchange(ref _nextLine, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
        if (Directory.Exists(_results))
        {
            Directory.Delete(_results, recursive: true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether something accepts connections on the loopback <paramref name="port"/> (a broker the tests started, say).</summary>
    public static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<bool> IsReadyAsync(HttpClient client)
    {
        try
        {
            return (await client.GetAsync("/health/ready")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
