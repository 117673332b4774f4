using System.Diagnostics;
using System.Net;

namespace RealTimeInference.Server.Tests.Alerts;

/// <summary>
/// The server with Debian's Alertmanager as its alert sink: Alertmanager runs in its own process on a
/// free loopback port, with clustering off and its own data folder, started before the server and
/// stopped after.
/// </summary>
public sealed class AlertmanagerServerFixture : ServerFixture, IAsyncLifetime
{
    public const string Binary = "/usr/bin/prometheus-alertmanager";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "rti-alertmanager-" + Guid.NewGuid().ToString("N"));
    private Process? _alertmanager;

    public Uri AlertmanagerUrl { get; } = new($"http://127.0.0.1:{RealServer.FreePort()}/");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Alerts:Alertmanager:Url", AlertmanagerUrl.ToString()), new("Alerts:PublicUrl", "http://rti.test:8000/")];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        var config = Path.Combine(_folder, "alertmanager.yml");
        await File.WriteAllTextAsync(config, "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n");
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "--config.file=" + config, "--storage.path=" + Path.Combine(_folder, "data"),
            "--web.listen-address=" + AlertmanagerUrl.Authority, "--cluster.listen-address=",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _alertmanager = Process.Start(start)!;
        _alertmanager.OutputDataReceived += (_, _) => { };
        _alertmanager.ErrorDataReceived += (_, _) => { };
        _alertmanager.BeginOutputReadLine();
        _alertmanager.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = AlertmanagerUrl };
        var ready = Stopwatch.StartNew();
        while (!await IsReadyAsync(client))
        {
            Assert.True(ready.Elapsed < TimeSpan.FromSeconds(30) && !_alertmanager.HasExited, "Alertmanager never became ready.");
            await Task.Delay(50);
        }
    }

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_alertmanager is { HasExited: false })
        {
            _alertmanager.Kill(entireProcessTree: true);
            await _alertmanager.WaitForExitAsync();
        }

        _alertmanager?.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static async Task<bool> IsReadyAsync(HttpClient client)
    {
        try
        {
            return (await client.GetAsync("-/ready")).StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

}
