using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace RealTimeInference.Server.Tests.Results;

/// <summary>The SQLite store through a SIGKILL mid-load, and a store that cannot be opened.</summary>
public sealed class ResultsCrashTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-results-crash-" + Guid.NewGuid().ToString("N"));

    private string StoreFile => Path.Combine(_folder, "results.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private long Scalar(string sql)
    {
        using var connection = StoredPredictionRows.Open(StoreFile);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Asks the file (another process writes it) until <paramref name="done"/> holds.</summary>
    private async Task UntilAsync(Func<bool> done, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"Never: {what}.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task KilledMidLoad_TheServerRestartsOnTheSameFile_IntactAndWithItsOpenAlert()
    {
        var tool = "tool-" + Guid.NewGuid().ToString("N")[..8];
        using (var first = await RealServer.StartAsync("--Results:Path=" + StoreFile))
        {
            using var client = new HttpClient { BaseAddress = first.Url };
            var anomalies = Enumerable.Range(0, 3).Select(_ => new { tool_id = tool, sensor_id = "s1", temperature = 420.0, pressure = 1013.0, flow_rate = 100.0 }).ToArray();
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/predict-batch", anomalies)).StatusCode);
            await UntilAsync(() => File.Exists(StoreFile) && Scalar($"SELECT count(*) FROM alerts WHERE tool_id = '{tool}' AND state = 'Firing'") == 1, "the alert is stored");

            // Load that is still running when the process is killed.
            using var stop = new CancellationTokenSource();
            var batch = Enumerable.Range(0, 200).Select(i => new { tool_id = "load", sensor_id = "s", temperature = 350.0 + (i % 5), pressure = 1013.0, flow_rate = 100.0 }).ToArray();
            var load = Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await client.PostAsJsonAsync("/predict-batch", batch, stop.Token);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                    {
                        return;
                    }
                }
            }));
            await UntilAsync(() => Scalar("SELECT count(*) FROM predictions WHERE tool_id = 'load'") >= 2_000, "some load is stored");
            first.Process.Kill();
            await first.Process.WaitForExitAsync();
            await stop.CancelAsync();
            await load;
        }

        using var second = await RealServer.StartAsync("--Results:Path=" + StoreFile);
        using var again = new HttpClient { BaseAddress = second.Url };

        Assert.Equal(0, Scalar("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"));
        var alerts = await again.GetFromJsonAsync<JsonElement>($"/alerts?tool_id={tool}");
        Assert.Equal("firing", Assert.Single(alerts.GetProperty("items").EnumerateArray()).GetProperty("state").GetString());
        var stored = await again.GetFromJsonAsync<JsonElement>($"/predictions?tool_id={tool}");
        Assert.Equal(3, stored.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("Results:Path", "--Results:Store=sqlite")]
    [InlineData("Results:ConnectionString", "--Results:Store=postgres", "--Results:ConnectionString=Host=127.0.0.1;Port=1;Timeout=2")]
    public async Task AStoreThatCannotBeOpened_StopsTheServerAtStart_NamingTheSetting(string setting, params string[] settings)
    {
        // A file where the store's folder would be: no folder can be made there.
        Directory.CreateDirectory(_folder);
        await File.WriteAllTextAsync(Path.Combine(_folder, "blocker"), "");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])
        [
            Path.Combine(AppContext.BaseDirectory, "RealTimeInference.Server.dll"), "--urls", "http://127.0.0.1:0",
            "--Simulator:Enabled=false", "--Results:Path=" + Path.Combine(_folder, "blocker", "results.db"), .. settings,
        ])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains(setting, await output + await errors, StringComparison.Ordinal);
    }
}
